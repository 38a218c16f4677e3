package podexec

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilexec "k8s.io/client-go/util/exec"
)

// podRunner is a Runner in a known Pod.
type podRunner struct {
	funcRunner
	pod *corev1.Pod
}

func (p podRunner) GetPod(context.Context) (*corev1.Pod, error) { return p.pod, nil }

func stagePod(deleting bool, reason string) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "tracebloc-stage-cats-x", Namespace: "ns"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "stage", Resources: corev1.ResourceRequirements{
			Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")},
		}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
	if deleting {
		now := metav1.Now()
		pod.DeletionTimestamp = &now
	}
	if reason != "" {
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "stage", LastTerminationState: corev1.ContainerState{
			Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: reason},
		}}}
	}
	return pod
}

// TestKilledAgentSaysMemory: an agent killed with SIGKILL in a live Pod was
// killed for memory: the push says so with the Pod's limit and what to do,
// as an agent failure (never retried), not as a broken stream. A Pod being
// deleted kills the agent the same way; that stays a broken exec.
func TestKilledAgentSaysMemory(t *testing.T) {
	killed := funcRunner(func(context.Context, []string, io.Reader, io.Writer, io.Writer) error {
		return utilexec.CodeExitError{Err: errors.New("command terminated with exit code 137"), Code: 137}
	})
	for _, tt := range []struct {
		name string
		pod  *corev1.Pod
		want []string // nil: a broken exec
	}{
		{"live pod", stagePod(false, ""), []string{"killed for memory", "exit 137", "1Gi", "not retried", "fewer files"}},
		{"container OOMKilled", stagePod(false, "OOMKilled"), []string{"OOMKilled in the Pod's status", "1Gi"}},
		{"pod being deleted", stagePod(true, ""), nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := &RemoteAgent{Runner: podRunner{funcRunner: killed, pod: tt.pod}, Path: "/tmp/agent"}
			err := a.Run(context.Background(), []string{"stage"}, nil, nil, nil)
			var ae *AgentError
			var ee *ExecError
			if tt.want == nil {
				if !errors.As(err, &ee) {
					t.Errorf("Run = %T %v, want a broken exec", err, err)
				}
				return
			}
			if !errors.As(err, &ae) {
				t.Fatalf("Run = %T %v, want an agent failure", err, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(ae.Msg, w) {
					t.Errorf("message %q lacks %q", ae.Msg, w)
				}
			}
		})
	}
}
