package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
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

// servedPod is a pod of a stallingAPIServer: its log, and whether that log
// stays open and silent once sent.
type servedPod struct {
	name  string
	log   string
	stall bool
}

// stallingAPIServer serves one Job and its pods over HTTP. The first pod is
// there from the start; each next one appears once the log of the one
// before has been sent. A pod's followed log sends its first line, the
// other lines follow 50 ms apart, then it ends, or with stall stays open
// without sending anything more until the client goes away. The Job takes
// the condition ended 300 ms after the last pod appeared (a single pod:
// after the first line of its log was sent).
func stallingAPIServer(t *testing.T, pods []servedPod, ended batchv1.JobConditionType) kubernetes.Interface {
	t.Helper()
	var mu sync.Mutex
	visible, lastSentAt := 1, time.Time{}
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		mu.Lock()
		shown := visible
		over := !lastSentAt.IsZero() && time.Since(lastSentAt) > 300*time.Millisecond
		mu.Unlock()
		switch {
		case r.URL.Path == "/apis/batch/v1/namespaces/tb/jobs/ingest-job-1":
			j := job("", "")
			if over {
				j = job(ended, "BackoffLimitExceeded")
			}
			j.TypeMeta = metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"}
			_ = json.NewEncoder(w).Encode(j)
		case r.URL.Path == "/api/v1/namespaces/tb/pods":
			list := corev1.PodList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PodList"}}
			for i, sp := range pods[:shown] {
				p := runPod(corev1.PodRunning, "")
				p.Name, p.CreationTimestamp = sp.name, metav1.NewTime(time.Unix(int64(1000+i), 0))
				switch {
				case i < shown-1:
					p.Status.Phase = corev1.PodFailed
				case over && ended == batchv1.JobComplete:
					p.Status.Phase = corev1.PodSucceeded
				case over:
					p.Status.Phase = corev1.PodFailed
				}
				list.Items = append(list.Items, *p)
			}
			_ = json.NewEncoder(w).Encode(list)
		case strings.HasSuffix(r.URL.Path, "/log"):
			i := 0
			for i < shown && r.URL.Path != "/api/v1/namespaces/tb/pods/"+pods[i].name+"/log" {
				i++
			}
			if i == shown {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/plain")
			for n, l := range strings.Split(pods[i].log, "\n") {
				if n > 0 {
					time.Sleep(50 * time.Millisecond)
				}
				_, _ = fmt.Fprintln(w, l)
				w.(http.Flusher).Flush()
				mu.Lock()
				if visible == len(pods) && lastSentAt.IsZero() {
					lastSentAt = time.Now()
				}
				mu.Unlock()
			}
			mu.Lock()
			if visible == i+1 && visible < len(pods) {
				visible++
				if visible == len(pods) {
					lastSentAt = time.Now()
				}
			}
			mu.Unlock()
			if !pods[i].stall {
				return
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
			client := stallingAPIServer(t, []servedPod{{name: "ingest-job-1-abc", log: tt.log, stall: true}}, tt.ended)
			// Without the cut, Follow would wait for this context.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			var lines, notes []string
			start := time.Now()
			res, err := Follow(ctx, client, FollowOptions{Namespace: "tb", Job: "ingest-job-1", StartTimeout: time.Second,
				Poll: 20 * time.Millisecond, DrainGrace: 500 * time.Millisecond,
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
			wantNotes := []string{"the log of pod ingest-job-1-abc stayed open and silent for 500ms after Job ingest-job-1 ended: stopped reading it"}
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

// A pod's log that stalls after the pod failed holds the follow until the
// Job ends; if the Job retried that pod meanwhile, the follow then reads the
// next pod's log, whose banner decides, instead of ending with no summary.
func TestFollowAfterAStalledLogOfARetriedPod(t *testing.T) {
	client := stallingAPIServer(t, []servedPod{
		{name: "ingest-job-1-first", log: "ERROR - lost the database connection", stall: true},
		{name: "ingest-job-1-second", log: cleanBanner},
	}, batchv1.JobComplete)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var notes []string
	res, err := Follow(ctx, client, FollowOptions{Namespace: "tb", Job: "ingest-job-1", StartTimeout: time.Second,
		Poll: 20 * time.Millisecond, DrainGrace: 500 * time.Millisecond, OnNote: func(n string) { notes = append(notes, n) }})
	if err != nil {
		t.Fatalf("Follow: %v", err)
	}
	if res.State != StateSucceeded || res.Pod != "ingest-job-1-second" || res.Summary == nil {
		t.Errorf("state %q of pod %q, summary %v: want the second pod's clean run (%s)", res.State, res.Pod, res.Summary, res.Reason)
	}
	if err := res.Err("ingest-job-1"); err != nil {
		t.Errorf("exit %d: %v", exitcode.Of(err), err)
	}
	want := []string{
		"the log of pod ingest-job-1-first stayed open and silent for 500ms after Job ingest-job-1 ended: stopped reading it",
		"the ingestor's pod ingest-job-1-first ended and Job ingest-job-1 retried it: following pod ingest-job-1-second",
	}
	if diff := cmp.Diff(want, notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
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
