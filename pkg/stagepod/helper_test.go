//go:build linux

package stagepod

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/agenttest"
	"github.com/tracebloc/kubectl-tracebloc/pkg/podexec"
)

// A helper Pod whose agent runs all returned is deleted without a grace
// period; after a failed one (an agent may still run in it) it is stopped
// gracefully.
func TestHelperPodDeletedAtOnceOnlyWhenIdle(t *testing.T) {
	t.Setenv("KUBE_FEATURE_WatchListClient", "false")
	for _, tt := range []struct {
		name  string
		err   error
		grace int64
	}{
		{"every run returned", nil, 0},
		{"a run failed", errors.New("the exec broke"), 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset()
			client.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
				pod := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
				pod.Status.Phase = corev1.PodRunning
				pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: ContainerName, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
				return false, nil, nil
			})
			var mu sync.Mutex
			var grace []int64
			client.PrependReactor("delete", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
				mu.Lock()
				defer mu.Unlock()
				if g := a.(k8stesting.DeleteActionImpl).DeleteOptions.GracePeriodSeconds; g != nil {
					grace = append(grace, *g)
				} else {
					grace = append(grace, -1)
				}
				return false, nil, nil
			})
			o := HelperOptions{Base: Base{Client: client, Namespace: "tb", PVC: "client-pvc", Image: "alpine", Timeout: 5 * time.Second,
				CleanupTimeout: 5 * time.Second, NewRunner: func(string) podexec.Runner { return &agenttest.Runner{Volume: t.TempDir()} }},
				Purpose: "test"}
			err := WithHelperPod(context.Background(), o, func(string, *podexec.RemoteAgent) error { return tt.err })
			if !errors.Is(err, tt.err) {
				t.Fatalf("WithHelperPod = %v, want %v", err, tt.err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(grace) != 1 || grace[0] != tt.grace {
				t.Errorf("helper pod deleted with grace periods %v, want [%d]", grace, tt.grace)
			}
		})
	}
}
