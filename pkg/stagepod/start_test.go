//go:build linux

package stagepod

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/agenttest"
	"github.com/tracebloc/kubectl-tracebloc/pkg/podexec"
)

// runningClient is a fake clientset whose Pods run as soon as they are
// created.
func runningClient(objects ...runtime.Object) *fake.Clientset {
	client := fake.NewClientset(objects...)
	client.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		pod := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		pod.Status.Phase = corev1.PodRunning
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: ContainerName, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
		return false, nil, nil
	})
	return client
}

// startOptions start a Pod of kind in namespace tb on the fake client,
// with the agent in a temporary folder, telling notes and the hook to log.
func startOptions(t *testing.T, client *fake.Clientset, kind Kind, log *[]string) StartOptions {
	t.Helper()
	t.Setenv("KUBE_FEATURE_WatchListClient", "false")
	say := func(format string, args ...any) {
		*log = append(*log, "note: "+strings.TrimSpace(sprintf(format, args...)))
	}
	return StartOptions{Kind: kind, Table: "cats", Holder: "me", Purpose: "test", Base: Base{Client: client, Namespace: "tb", PVC: "client-pvc",
		Image: "alpine", Timeout: 5 * time.Second, CleanupTimeout: 5 * time.Second, Note: say,
		Warn:      func(format string, args ...any) { *log = append(*log, "warning: "+sprintf(format, args...)) },
		NewRunner: func(string) podexec.Runner { return &agenttest.Runner{Volume: t.TempDir()} },
		OnCreated: func(ns, pod string) { *log = append(*log, "created: "+DeleteCommand(ns, pod)) }}}
}

func TestStartTellsTheHookAndClosesEveryKind(t *testing.T) {
	for _, kind := range []Kind{KindStage, KindHelper} {
		t.Run(kind.String(), func(t *testing.T) {
			client := runningClient()
			var log []string
			p, err := Start(context.Background(), startOptions(t, client, kind, &log))
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			if p.Agent == nil {
				t.Fatal("Start returned no agent")
			}
			pod, err := client.CoreV1().Pods("tb").Get(context.Background(), p.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			wantComponent := map[Kind]string{KindStage: ComponentStagePod, KindHelper: ComponentHelperPod}[kind]
			if got := pod.Labels[LabelComponent]; got != wantComponent {
				t.Errorf("component = %q, want %q", got, wantComponent)
			}
			if err := p.Close(context.Background(), true); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if pods, _ := client.CoreV1().Pods("tb").List(context.Background(), metav1.ListOptions{}); len(pods.Items) != 0 {
				t.Errorf("%d pods left after Close", len(pods.Items))
			}
			if len(log) < 2 || log[1] != "created: kubectl delete pod "+p.Name+" -n tb" {
				t.Errorf("log = %q, want the note then the hook with the delete command of %s", log, p.Name)
			}
		})
	}
}

// A Pod whose create was cut off by Ctrl-C may exist: Start hands it back
// so the caller deletes it; one the apiserver refused is not handed back.
func TestStartHandsBackAPodThatMayExist(t *testing.T) {
	for _, tt := range []struct {
		name    string
		cancel  bool
		wantPod bool
	}{{"refused", false, false}, {"cut off", true, true}} {
		t.Run(tt.name, func(t *testing.T) {
			client := runningClient()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			client.PrependReactor("create", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
				if tt.cancel {
					cancel()
					return true, nil, context.Canceled
				}
				return true, nil, apierrors.NewAlreadyExists(schema.GroupResource{Resource: "pods"}, "x")
			})
			var log []string
			p, err := Start(ctx, startOptions(t, client, KindHelper, &log))
			if err == nil || (p != nil) != tt.wantPod {
				t.Errorf("Start = %v, %v; want an error and a pod: %v", p, err, tt.wantPod)
			}
			if AgentFailed(err) {
				t.Errorf("a failed create is marked as the agent's: %v", err)
			}
		})
	}
}

// A delivery that fails is marked, with its text unchanged, and the Pod
// comes back to be closed.
func TestStartMarksAFailedDelivery(t *testing.T) {
	client := runningClient()
	var log []string
	o := startOptions(t, client, KindStage, &log)
	broken := errors.New("the exec broke")
	o.NewRunner = func(string) podexec.Runner { return failingRunner{broken} }
	p, err := Start(context.Background(), o)
	if !AgentFailed(err) || !errors.Is(err, broken) || p == nil || p.Agent != nil {
		t.Fatalf("Start = %+v, %v; want the pod and a marked delivery error", p, err)
	}
	if err := p.Close(context.Background(), false); err != nil {
		t.Fatal(err)
	}
}

// A Close that cannot delete warns with the command that finishes the job.
func TestCloseWarnsWithTheDeleteCommand(t *testing.T) {
	client := runningClient()
	var log []string
	o := startOptions(t, client, KindHelper, &log)
	p, err := Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	client.PrependReactor("delete", "pods", func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, errForbidden })
	if err := p.Close(context.Background(), true); err == nil {
		t.Fatal("Close succeeded though the delete was refused")
	}
	want := "warning: could not delete helper pod " + p.Name + ": " + errForbidden.Error() + "; delete it with: kubectl delete pod " + p.Name + " -n tb"
	if log[len(log)-1] != want {
		t.Errorf("last line = %q, want %q", log[len(log)-1], want)
	}
}

func TestStalePodsOfTheTableAreDeleted(t *testing.T) {
	dead := BuildPod(PodOptions{Namespace: "tb", Table: "cats", Image: "img", PVC: "client-pvc", Suffix: "old11", Holder: "gone", Now: time.Now()})
	mine := BuildPod(PodOptions{Namespace: "tb", Table: "cats", Image: "img", PVC: "client-pvc", Suffix: "mine1", Holder: "me", Now: time.Now()})
	other := BuildPod(PodOptions{Namespace: "tb", Table: "dogs", Image: "img", PVC: "client-pvc", Suffix: "other", Holder: "alive", Now: time.Now()})
	client := runningClient(dead, mine, other)
	var log []string
	RemoveStale(context.Background(), startOptions(t, client, KindStage, &log))
	pods, err := client.CoreV1().Pods("tb").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pods.Items {
		names = append(names, p.Name)
	}
	sort.Strings(names)
	if diff := cmp.Diff([]string{mine.Name, other.Name}, names); diff != "" {
		t.Errorf("pods left (-want +got):\n%s\n%q", diff, log)
	}
}

var errForbidden = apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "x", errors.New("no"))

var sprintf = fmt.Sprintf

// failingRunner is an exec that always fails with err.
type failingRunner struct{ err error }

func (f failingRunner) Run(context.Context, []string, io.Reader, io.Writer, io.Writer) error {
	return f.err
}
