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

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// A Job deleted while its pod's log stays open and silent (a TTL of 0
// removes a Job the moment it ends; an admin may delete it) never shows
// an end condition: the follow must still end by itself, after the drain
// grace, saying the Job is gone, instead of holding the push until Ctrl-C.
func TestFollowEndsWhenTheJobIsDeletedUnderAStalledLog(t *testing.T) {
	var mu sync.Mutex
	var sentAt time.Time
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		mu.Lock()
		gone := !sentAt.IsZero() && time.Since(sentAt) > 200*time.Millisecond
		mu.Unlock()
		switch r.URL.Path {
		case "/apis/batch/v1/namespaces/tb/jobs/ingest-job-1":
			if gone {
				w.WriteHeader(http.StatusNotFound)
				_, _ = fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404,"message":"jobs.batch \"ingest-job-1\" not found","details":{"name":"ingest-job-1","group":"batch","kind":"jobs"}}`)
				return
			}
			j := job("", "")
			j.TypeMeta = metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"}
			_ = json.NewEncoder(w).Encode(j)
		case "/api/v1/namespaces/tb/pods":
			list := corev1.PodList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PodList"}}
			if !gone {
				list.Items = append(list.Items, *runPod(corev1.PodRunning, ""))
			}
			_ = json.NewEncoder(w).Encode(list)
		case "/api/v1/namespaces/tb/pods/ingest-job-1-abc/log":
			w.Header().Set("Content-Type", "text/plain")
			_, _ = fmt.Fprintln(w, "INFO - working")
			w.(http.Flusher).Flush()
			mu.Lock()
			sentAt = time.Now()
			mu.Unlock()
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
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var notes []string
	res, err := Follow(ctx, client, FollowOptions{Namespace: "tb", Job: "ingest-job-1", StartTimeout: time.Second,
		Poll: 20 * time.Millisecond, DrainGrace: 300 * time.Millisecond, OnNote: func(n string) { notes = append(notes, n) }})
	if err != nil {
		t.Fatalf("Follow did not end by itself: %v", err)
	}
	if res.State != StateUnknown || !strings.Contains(res.Reason, "Job ingest-job-1 does not exist") {
		t.Errorf("result %+v, want unknown, naming the Job that is gone", res)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "stopped reading it") {
		t.Errorf("notes %q, want one saying the log was cut", notes)
	}
}
