//go:build linux

// Package clustertest is a namespace for unit tests of the engines that
// start helper Pods: a fake clientset with a client release and its
// volume, whose Pods run as soon as they are created, and a folder that
// stands in for the volume, worked on by the in-process stage agent.
package clustertest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/agenttest"
	"github.com/tracebloc/kubectl-tracebloc/pkg/lock"
	"github.com/tracebloc/kubectl-tracebloc/pkg/naming"
	"github.com/tracebloc/kubectl-tracebloc/pkg/podexec"
	"github.com/tracebloc/kubectl-tracebloc/pkg/stagepod"
)

// Namespace is the namespace of the world.
const Namespace = "tb"

// World is namespace tb with release tb (chart client-2.0.1), its volume
// client-pvc and whatever objects the test adds.
type World struct {
	Client *fake.Clientset
	// Volume stands in for /data/shared.
	Volume string
}

// New is a world holding objects besides the release and its volume.
func New(t *testing.T, objects ...runtime.Object) *World {
	t.Helper()
	t.Setenv("KUBE_FEATURE_WatchListClient", "false")
	objects = append(objects,
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: Namespace, Name: "tb-jobs-manager", Labels: map[string]string{
			"app.kubernetes.io/name": "client", "app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/instance": "tb", "helm.sh/chart": "client-2.0.1"}}},
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: Namespace, Name: "client-pvc"},
			Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}}},
	)
	client := fake.NewClientset(objects...)
	client.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		pod := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		pod.Status.Phase = corev1.PodRunning
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: stagepod.ContainerName, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
		return false, nil, nil
	})
	return &World{Client: client, Volume: t.TempDir()}
}

// Runner is the in-process agent on the world's volume, for any Pod.
func (w *World) Runner(string) podexec.Runner { return &agenttest.Runner{Volume: w.Volume} }

// Helper are the options of a helper Pod in the world.
func (w *World) Helper() stagepod.HelperOptions {
	return stagepod.HelperOptions{Base: stagepod.Base{Client: w.Client, Namespace: Namespace, Image: "alpine", Timeout: 5 * time.Second,
		CleanupTimeout: 5 * time.Second, NewRunner: w.Runner}}
}

// Folder makes a folder in the staging folder holding one file of size
// bytes, modified at.
func (w *World) Folder(t *testing.T, name string, size int, at time.Time) {
	t.Helper()
	dir := filepath.Join(w.Volume, ".tracebloc-staging", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "labels.csv"), bytes.Repeat([]byte("x"), size), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(dir, at, at); err != nil {
		t.Fatal(err)
	}
}

// Exists reports whether the staging folder holds name.
func (w *World) Exists(name string) bool {
	_, err := os.Stat(filepath.Join(w.Volume, ".tracebloc-staging", name))
	return err == nil
}

// Pods are the names of the Pods left in the namespace.
func (w *World) Pods(t *testing.T) []string {
	t.Helper()
	pods, err := w.Client.CoreV1().Pods(Namespace).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pods.Items {
		names = append(names, p.Name)
	}
	return names
}

// Lease is table's push Lease held by holder, last renewed at renewed,
// for 30 seconds.
func Lease(table, holder string, renewed time.Time) *coordv1.Lease {
	return &coordv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: lock.LeaseName(table), Namespace: Namespace,
			Labels:      map[string]string{naming.LabelManagedBy: naming.ManagedBy, naming.LabelComponent: naming.ComponentLock},
			Annotations: map[string]string{naming.AnnotationTable: table}},
		Spec: coordv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: ptr.To(int32(30)), RenewTime: ptr.To(metav1.NewMicroTime(renewed))},
	}
}

// StagePod is the stage Pod of a push of table by holder.
func StagePod(table, suffix, holder string, at time.Time) *corev1.Pod {
	return stagepod.BuildPod(stagepod.PodOptions{Namespace: Namespace, Table: table, Image: "alpine", PVC: "client-pvc", Suffix: suffix, Holder: holder, Now: at})
}
