//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
	"github.com/tracebloc/kubectl-tracebloc/pkg/stagepod"
)

// podEnds watches the stage Pods of table and reports, for each Pod that is
// deleted, whether it was first given a grace period to stop in (a graceful
// deletion; without one the apiserver removes the Pod at once).
func podEnds(t *testing.T, table string) (stop func() map[string]bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w, err := client.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{LabelSelector: stagepod.Selector + "," + stagepod.LabelTable + "=" + stagepod.TableLabel(table)})
	if err != nil {
		t.Fatal(err)
	}
	ends := map[string]bool{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		terminating := map[string]bool{}
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			switch {
			case ev.Type == watch.Deleted:
				ends[p.Name] = terminating[p.Name]
			case p.DeletionGracePeriodSeconds != nil && *p.DeletionGracePeriodSeconds > 0:
				terminating[p.Name] = true
			}
		}
	}()
	return func() map[string]bool {
		// The last events may still be on their way.
		time.Sleep(2 * time.Second)
		w.Stop()
		cancel()
		<-done
		return ends
	}
}

// containersOf lists the containers containerd still runs for a Pod on the
// local cluster's node.
func containersOf(t *testing.T, pod string) string {
	t.Helper()
	state := os.Getenv("LOCALCLUSTER_STATE")
	if state == "" {
		t.Fatal("LOCALCLUSTER_STATE is not set: source .localcluster/env")
	}
	out, err := exec.Command("ctr", "-a", filepath.Join(state, "containerd", "containerd.sock"), "-n", "k8s.io",
		"containers", "ls", "-q", `labels."io.kubernetes.pod.name"==`+pod).CombinedOutput()
	if err != nil {
		t.Fatalf("ctr: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestIdleStagePodRemovedAtOnce: after a clean push, whose agent has exited,
// the stage Pod is deleted without a grace period (the push does not wait a
// graceful stop) and the node stops its container right after; a push that
// is interrupted while its agent runs stops its Pod gracefully and waits for
// it to be gone before it exits.
func TestIdleStagePodRemovedAtOnce(t *testing.T) {
	const table = "e2e_pod_idle"
	removeStaged(t, table)
	dir := filepath.Join(t.TempDir(), "ds")
	must(t, fixture.Write(dir, fixture.Options{Images: 20, Width: 32, Height: 32}))

	stop := podEnds(t, table)
	r, rep := push(t, dir, table)
	ends := stop()
	if r.code != 0 || rep.StagePod == "" {
		t.Fatalf("push:\n%s", r)
	}
	terminating, deleted := ends[rep.StagePod]
	if !deleted {
		t.Fatalf("the stage pod %s was not seen deleted (events: %v)", rep.StagePod, ends)
	}
	if terminating {
		t.Errorf("the stage pod of a clean push was given a grace period: the push waited for a graceful stop")
	}
	assertNoStagePodsOf(t, table)
	deadline := time.Now().Add(60 * time.Second)
	for left := containersOf(t, rep.StagePod); left != ""; left = containersOf(t, rep.StagePod) {
		if time.Now().After(deadline) {
			t.Fatalf("containers of the deleted stage pod %s still on the node after 60 s: %s", rep.StagePod, left)
		}
		time.Sleep(500 * time.Millisecond)
	}

	bulk := bulkDataset(t)
	stop = podEnds(t, table)
	ri, _ := interruptWhen(t, bulk, table, "sending: ")
	ends = stop()
	if ri.code != 130 {
		t.Fatalf("interrupted push: exit %d, want 130:\n%s", ri.code, ri)
	}
	// Once the interrupted push has exited, its Pod is gone: it waited.
	assertNoStagePodsOf(t, table)
	if len(ends) != 1 {
		t.Fatalf("stage pods deleted during the interrupted push: %v, want one", ends)
	}
	for pod, graceful := range ends {
		if !graceful {
			t.Errorf("the stage pod %s of an interrupted push was deleted without a graceful stop", pod)
		}
	}
}
