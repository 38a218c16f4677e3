//go:build linux

package push

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/agenttest"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/podexec"
)

// breakFirstStage is a stage Pod whose first staging exec breaks off before
// the agent answers, as a dropped connection does; every other exec runs
// the agent in-process.
type breakFirstStage struct {
	*agenttest.Runner
	mu     sync.Mutex
	broken int
	times  int
}

func (b *breakFirstStage) Run(ctx context.Context, command []string, stdin io.Reader, stdout, stderr io.Writer) error {
	b.mu.Lock()
	breakIt := command[0] != "sh" && len(command) > 1 && command[1] == "stage" && b.broken < b.times
	if breakIt {
		b.broken++
	}
	b.mu.Unlock()
	if breakIt {
		return errors.New("connection reset by peer")
	}
	return b.Runner.Run(ctx, command, stdin, stdout, stderr)
}

// TestStagePodDeletedAtOnceOnlyWhenIdle: after a clean staging session, the
// stage Pod holds no running agent and is deleted without a grace period;
// after a broken session (whose agent may still run in it) or a failed
// push, it is deleted gracefully and waited for.
func TestStagePodDeletedAtOnceOnlyWhenIdle(t *testing.T) {
	t.Setenv("KUBE_FEATURE_WatchListClient", "false")
	tests := []struct {
		name      string
		breaks    int
		retries   int
		wantCode  int
		wantGrace []int64
	}{
		{name: "clean push", wantGrace: []int64{0}},
		{name: "retried in the same pod", breaks: 1, retries: 1, wantGrace: []int64{1}},
		{name: "failed push", breaks: 2, retries: 1, wantCode: exitcode.Staging, wantGrace: []int64{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(chart("tb")...)
			allowAllBut(client, "")
			runningPods(client)
			var mu sync.Mutex
			var grace []int64
			client.PrependReactor("delete", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
				opts := a.(k8stesting.DeleteActionImpl).DeleteOptions
				mu.Lock()
				defer mu.Unlock()
				if opts.GracePeriodSeconds == nil {
					grace = append(grace, -1)
				} else {
					grace = append(grace, *opts.GracePeriodSeconds)
				}
				return false, nil, nil
			})
			o, out := options(t, client, nil)
			o.DryRun, o.Ingest.StageOnly, o.Stage.Retries = false, true, tt.retries
			o.Stage.Image, o.Stage.PodRunningTimeout, o.Stage.CleanupTimeout = "alpine", 5*time.Second, 5*time.Second
			runner := &breakFirstStage{Runner: &agenttest.Runner{Volume: t.TempDir()}, times: tt.breaks}
			o.Hooks.NewRunner = func(*Connection, string) podexec.Runner { return runner }
			_, err := o.run(context.Background())
			if code := exitcode.Of(err); code != tt.wantCode {
				t.Fatalf("exit %d (%v), want %d:\n%s", code, err, tt.wantCode, out)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(grace) != len(tt.wantGrace) {
				t.Fatalf("pod deletions with grace periods %v, want %v:\n%s", grace, tt.wantGrace, out)
			}
			for i := range grace {
				if grace[i] != tt.wantGrace[i] {
					t.Errorf("deletion %d had a grace period of %d s, want %d", i, grace[i], tt.wantGrace[i])
				}
			}
			pods, err := client.CoreV1().Pods("tb").List(context.Background(), metav1.ListOptions{})
			if err != nil || len(pods.Items) != 1 { // the jobs-manager's pod
				t.Errorf("pods left: %d (%v)", len(pods.Items), err)
			}
		})
	}
}
