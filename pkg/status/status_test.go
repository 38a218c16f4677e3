//go:build linux

package status

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/tracebloc/kubectl-tracebloc/internal/clustertest"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/leftover"
	"github.com/tracebloc/kubectl-tracebloc/pkg/stagepod"
)

var at = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

func TestRunListsTablesSortedWithTheLeftovers(t *testing.T) {
	w := clustertest.New(t, clustertest.Lease("birds", "gone", at), clustertest.StagePod("birds", "dead1", "gone", at))
	for _, name := range []string{"zebras", "cats", ".partial-birds"} {
		w.Folder(t, name, 3, at)
	}
	r, err := Run(context.Background(), w.Helper())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	var tables []string
	for _, tb := range r.Tables {
		tables = append(tables, tb.Name)
		if tb.Files != 1 || tb.Bytes != 3 || !tb.StagedAt.Equal(at) {
			t.Errorf("table %+v, want 1 file of 3 bytes staged at %s", tb, at)
		}
	}
	if diff := cmp.Diff([]string{"cats", "zebras"}, tables); diff != "" {
		t.Errorf("tables (-want +got):\n%s", diff)
	}
	kinds := map[leftover.Kind]int{}
	for _, i := range r.Leftovers {
		kinds[i.Kind]++
	}
	if want := map[leftover.Kind]int{leftover.KindPod: 1, leftover.KindLease: 1, leftover.KindFolder: 1}; !cmp.Equal(want, kinds) {
		t.Errorf("leftovers %+v, want a pod, a lease and a folder", r.Leftovers)
	}
	if r.Release == nil || r.Release.Name != "tb" || r.PVC == nil || r.PVC.Name != "client-pvc" {
		t.Errorf("release %+v, volume %+v", r.Release, r.PVC)
	}
	if pods := w.Pods(t); len(pods) != 1 {
		t.Errorf("pods left %v, want only the dead push's", pods)
	}
}

// A failure before the volume is read is the report's error and exit code,
// and no helper Pod is made.
func TestRunWithoutARelease(t *testing.T) {
	w := clustertest.New(t)
	must(t, w.Client.AppsV1().Deployments(clustertest.Namespace).Delete(context.Background(), "tb-jobs-manager", metav1.DeleteOptions{}))
	r, err := Run(context.Background(), w.Helper())
	if err == nil {
		t.Fatal("Run succeeded without a release")
	}
	if r.Error != err.Error() || r.ExitCode != exitcode.Of(err) || r.ExitCode == 0 {
		t.Errorf("report error %q exit %d, want %q exit %d", r.Error, r.ExitCode, err, exitcode.Of(err))
	}
	if len(r.Tables) != 0 || r.Tables == nil || r.Leftovers == nil {
		t.Errorf("tables %v leftovers %v: want empty arrays, never null", r.Tables, r.Leftovers)
	}
	for _, a := range w.Client.Actions() {
		if a.GetVerb() == "create" && a.GetResource().Resource == "pods" {
			t.Error("a helper pod was created")
		}
	}
}

// A ReadWriteOnce volume mounted by a running Pod pins the helper Pod to
// that Pod's node.
func TestRunPinsTheHelperPodToAReadWriteOnceVolume(t *testing.T) {
	mounter := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: clustertest.Namespace, Name: "jobs"},
		Spec: corev1.PodSpec{NodeName: "n1", Volumes: []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "client-pvc"}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	w := clustertest.New(t, mounter)
	pvc, err := w.Client.CoreV1().PersistentVolumeClaims(clustertest.Namespace).Get(context.Background(), "client-pvc", metav1.GetOptions{})
	must(t, err)
	pvc.Status.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	_, err = w.Client.CoreV1().PersistentVolumeClaims(clustertest.Namespace).UpdateStatus(context.Background(), pvc, metav1.UpdateOptions{})
	must(t, err)
	var node string
	w.Client.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		pod := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		if pod.Labels[stagepod.LabelComponent] == stagepod.ComponentHelperPod && pod.Spec.Affinity != nil {
			node = pod.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchFields[0].Values[0]
		}
		return false, nil, nil
	})
	if _, err := Run(context.Background(), w.Helper()); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if node != "n1" {
		t.Errorf("helper pod pinned to %q, want n1", node)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
