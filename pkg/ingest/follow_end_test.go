package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// stallingAPIServer serves one Job and its one pod over HTTP. The pod's
// followed log sends the first line of log, the Job then takes the
// condition ended, and the other lines follow 50 ms apart; then the log
// stays open without sending anything more until the client goes away.
func stallingAPIServer(t *testing.T, log string, ended batchv1.JobConditionType) kubernetes.Interface {
	t.Helper()
	var sent atomic.Bool
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/apis/batch/v1/namespaces/tb/jobs/ingest-job-1":
			j := job("", "")
			if sent.Load() {
				j = job(ended, "BackoffLimitExceeded")
			}
			j.TypeMeta = metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"}
			_ = json.NewEncoder(w).Encode(j)
		case "/api/v1/namespaces/tb/pods":
			list := corev1.PodList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PodList"}, Items: []corev1.Pod{*runPod(corev1.PodRunning, "")}}
			_ = json.NewEncoder(w).Encode(list)
		case "/api/v1/namespaces/tb/pods/ingest-job-1-abc/log":
			w.Header().Set("Content-Type", "text/plain")
			for i, l := range strings.Split(log, "\n") {
				if i > 0 {
					time.Sleep(50 * time.Millisecond)
				}
				_, _ = fmt.Fprintln(w, l)
				w.(http.Flusher).Flush()
				sent.Store(true)
			}
			select {
			case <-r.Context().Done():
			case <-stop:
			}
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) })
	client, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// A log stream that stays open and silent after the Job has ended must not
// hold the follow (and so push or logs -f) until Ctrl-C: it is cut after a
// short grace, and the result comes from what was read and the Job. Lines
// that still come after the Job ended, each within the grace, are all read.
func TestFollowCutsALogThatStallsAfterTheJobEnded(t *testing.T) {
	tests := []struct {
		name      string
		log       string
		ended     batchv1.JobConditionType
		wantState string
		wantCode  int
		wantErr   string
	}{
		{name: "clean banner, Job complete", log: cleanBanner, ended: batchv1.JobComplete, wantState: StateSucceeded},
		{name: "banner with skipped records", log: prefixedBanner, ended: batchv1.JobComplete, wantState: StateSucceeded,
			wantCode: exitcode.RunFailed, wantErr: "7 records were skipped"},
		{name: "no banner, Job complete", log: "INFO - working", ended: batchv1.JobComplete, wantState: StateSucceeded,
			wantCode: exitcode.RunFailed, wantErr: "no summary"},
		{name: "Job failed", log: "ERROR - the database refused the connection", ended: batchv1.JobFailed, wantState: StateFailed,
			wantCode: exitcode.RunFailed, wantErr: "BackoffLimitExceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := stallingAPIServer(t, tt.log, tt.ended)
			// Without the cut, Follow would wait for this context.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			var lines, notes []string
			start := time.Now()
			res, err := Follow(ctx, client, FollowOptions{Namespace: "tb", Job: "ingest-job-1", StartTimeout: time.Second,
				Poll: 20 * time.Millisecond, DrainGrace: 200 * time.Millisecond,
				OnLine: func(l string) { lines = append(lines, l) }, OnNote: func(n string) { notes = append(notes, n) }})
			if err != nil {
				t.Fatalf("Follow did not end by itself after %s: %v", time.Since(start).Round(time.Millisecond), err)
			}
			if res.State != tt.wantState {
				t.Errorf("state %q, want %q (%s)", res.State, tt.wantState, res.Reason)
			}
			if diff := cmp.Diff(strings.Split(tt.log, "\n"), lines); diff != "" {
				t.Errorf("lines read before the cut (-want +got):\n%s", diff)
			}
			wantNotes := []string{"the log of pod ingest-job-1-abc stayed open and silent for 200ms after Job ingest-job-1 ended: stopped reading it"}
			if diff := cmp.Diff(wantNotes, notes); diff != "" {
				t.Errorf("notes (-want +got):\n%s", diff)
			}
			rerr := res.Err("ingest-job-1")
			if code := exitcode.Of(rerr); code != tt.wantCode {
				t.Errorf("exit code %d, want %d (%v)", code, tt.wantCode, rerr)
			}
			if tt.wantErr != "" && (rerr == nil || !strings.Contains(rerr.Error(), tt.wantErr)) {
				t.Errorf("error %v, want %q", rerr, tt.wantErr)
			}
		})
	}
}

var podsResource = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
var jobsResource = schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}

// retryingJob is a fake cluster where the Job's first pod fails, the Job
// makes a second pod a few checks later, and that pod's log is last. When
// the last log has been read, the second pod and the Job end with end.
func retryingJob(t *testing.T, logs [2]string, end batchv1.JobConditionType) *fake.Clientset {
	t.Helper()
	first := runPod(corev1.PodRunning, "")
	first.Name = "ingest-job-1-first"
	client := fake.NewClientset(job("", ""), first)
	tracker := client.Tracker()
	var mu sync.Mutex
	served, checksSinceFailure := 0, -1
	client.PrependReactor("get", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "log" {
			return false, nil, nil
		}
		mu.Lock()
		defer mu.Unlock()
		served++
		switch served {
		case 1:
			first.Status.Phase = corev1.PodFailed
			if err := tracker.Update(podsResource, first, "tb"); err != nil {
				t.Error(err)
			}
			checksSinceFailure = 0
			return true, &runtime.Unknown{Raw: []byte(logs[0])}, nil
		default:
			second := runPod(corev1.PodSucceeded, "")
			second.Name = "ingest-job-1-second"
			if end == batchv1.JobFailed {
				second.Status.Phase = corev1.PodFailed
			}
			if err := tracker.Update(podsResource, second, "tb"); err != nil {
				t.Error(err)
			}
			if err := tracker.Update(jobsResource, job(end, "BackoffLimitExceeded"), "tb"); err != nil {
				t.Error(err)
			}
			return true, &runtime.Unknown{Raw: []byte(logs[1])}, nil
		}
	})
	client.PrependReactor("get", "jobs", func(k8stesting.Action) (bool, runtime.Object, error) {
		mu.Lock()
		defer mu.Unlock()
		if checksSinceFailure < 0 {
			return false, nil, nil
		}
		// The Job controller waits a back-off before the next pod.
		if checksSinceFailure++; checksSinceFailure == 3 {
			second := runPod(corev1.PodRunning, "")
			second.Name = "ingest-job-1-second"
			if err := tracker.Add(second); err != nil {
				t.Error(err)
			}
		}
		return false, nil, nil
	})
	return client
}

// A Job with backoffLimit > 0 retries a failed pod: the follow says so in
// one line, follows the next pod, and the last pod's banner decides.
func TestFollowAJobThatRetriesItsPod(t *testing.T) {
	crash := "INFO - ingestor starting\nERROR - lost the database connection"
	tests := []struct {
		name      string
		logs      [2]string
		end       batchv1.JobConditionType
		wantState string
		wantCode  int
		wantErr   string
		wantLines []string
	}{
		{name: "second pod succeeds", logs: [2]string{crash, cleanBanner}, end: batchv1.JobComplete,
			wantState: StateSucceeded},
		{name: "second pod fails too", logs: [2]string{crash, "ERROR - lost it again"}, end: batchv1.JobFailed,
			wantState: StateFailed, wantCode: exitcode.RunFailed, wantErr: "BackoffLimitExceeded",
			wantLines: []string{"ERROR - lost it again"}},
		{name: "second pod's banner has failures", logs: [2]string{crash, prefixedBanner}, end: batchv1.JobComplete,
			wantState: StateSucceeded, wantCode: exitcode.RunFailed, wantErr: "7 records were skipped"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := retryingJob(t, tt.logs, tt.end)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			var lines, notes []string
			res, err := Follow(ctx, client, FollowOptions{Namespace: "tb", Job: "ingest-job-1", StartTimeout: time.Second,
				Poll: 10 * time.Millisecond, OnLine: func(l string) { lines = append(lines, l) }, OnNote: func(n string) { notes = append(notes, n) }})
			if err != nil {
				t.Fatalf("Follow: %v", err)
			}
			if res.State != tt.wantState || res.Pod != "ingest-job-1-second" {
				t.Errorf("state %q of pod %q, want %q of ingest-job-1-second (%s)", res.State, res.Pod, tt.wantState, res.Reason)
			}
			want := append(strings.Split(tt.logs[0], "\n"), strings.Split(tt.logs[1], "\n")...)
			if diff := cmp.Diff(want, lines); diff != "" {
				t.Errorf("lines of both pods (-want +got):\n%s", diff)
			}
			wantNotes := []string{"the ingestor's pod ingest-job-1-first ended and Job ingest-job-1 retried it: following pod ingest-job-1-second"}
			if diff := cmp.Diff(wantNotes, notes); diff != "" {
				t.Errorf("notes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantLines, res.ErrorLines); diff != "" {
				t.Errorf("error lines, only the last pod's (-want +got):\n%s", diff)
			}
			rerr := res.Err("ingest-job-1")
			if code := exitcode.Of(rerr); code != tt.wantCode {
				t.Errorf("exit code %d, want %d (%v)", code, tt.wantCode, rerr)
			}
			if tt.wantErr != "" && (rerr == nil || !strings.Contains(rerr.Error(), tt.wantErr)) {
				t.Errorf("error %v, want %q", rerr, tt.wantErr)
			}
		})
	}
}
