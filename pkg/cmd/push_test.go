//go:build linux

package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	authv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/tracebloc/kubectl-tracebloc/pkg/cluster"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/podexec"
	"github.com/tracebloc/kubectl-tracebloc/pkg/push"
	"github.com/tracebloc/kubectl-tracebloc/pkg/spec"
)

// pushWorld is a push command whose cluster is the world's fake one: its
// connector counts the times the push asked for the kubeconfig.
type pushWorld struct {
	*world
	o        *PushOptions
	connects int
}

func newPushWorld(t *testing.T) *pushWorld {
	t.Helper()
	w := &pushWorld{world: newWorld(t)}
	w.client.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		review := a.(k8stesting.CreateAction).GetObject().(*authv1.SelfSubjectAccessReview)
		review.Status.Allowed = true
		return true, review, nil
	})
	w.o = NewPushOptions(nil, w.io, Hooks{})
	w.o.Push.Connect = func() (*cluster.Connection, error) {
		w.connects++
		return &cluster.Connection{Client: w.client, Namespace: "tb", Context: "dev"}, nil
	}
	w.o.Push.Hooks.NewRunner = func(_ *cluster.Connection, pod string) podexec.Runner { return w.runner(pod) }
	return w
}

// run runs push with args through cobra: Complete, Validate, Run.
func (w *pushWorld) run(args ...string) error {
	c := newCmdPush(w.o)
	c.SilenceUsage, c.SilenceErrors = true, true
	c.SetArgs(args)
	c.SetOut(w.out)
	c.SetErr(w.errOut)
	return c.ExecuteContext(context.Background())
}

func imageDataset(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "cats")
	must(t, fixture.Write(dir, fixture.Options{Images: 4, Width: 16, Height: 8}))
	return dir
}

// TestPushFlagsAreParsedOnce: Validate reads every flag into the typed
// push.Options the engine runs, and the engine gets no flag as written.
func TestPushFlagsAreParsedOnce(t *testing.T) {
	w := newPushWorld(t)
	must(t, w.run(imageDataset(t), "--table", "cats", "--dry-run", "--stage-only", "--target-size", "16x8", "--min-size", "4X4", "--bwlimit", "20M",
		"--max-size", "1Mi", "--compress", "never", "--retries", "1", "--data-id", "content_hash", "--exclude", "raw/"))
	got := w.o.Push
	want := spec.Inputs{Table: "cats", Category: "image_classification", Intent: "train", LabelColumn: "label",
		TargetSize: []int{16, 8}, MinSize: []int{4, 4}, DataID: &spec.DataID{Strategy: spec.DataIDContentHash}}
	if diff := cmp.Diff(want, got.Local.Inputs); diff != "" {
		t.Errorf("inputs (-want +got):\n%s", diff)
	}
	if got.Local.Task.Name != "image_classification" || got.Local.Limits.MaxTotalBytes != 1<<20 || !cmp.Equal(got.Local.Exclude, []string{"raw/"}) {
		t.Errorf("local = %+v", got.Local)
	}
	if got.Stage.BWLimit != 20_000_000 || got.Stage.Compress != "never" || got.Stage.Retries != 1 || got.Stage.CleanupTimeout != cleanupTimeout {
		t.Errorf("stage = %+v", got.Stage)
	}
	if !got.DryRun || !got.ShowSummary || w.connects != 1 {
		t.Errorf("dry run %v, summary %v, connects %d", got.DryRun, got.ShowSummary, w.connects)
	}
	if !strings.Contains(w.out.String(), "dry run: every check passed") {
		t.Errorf("stdout:\n%s", w.out)
	}
}

// TestPushChecksLocallyFirst: a refused flag or a bad dataset ends the push
// before the kubeconfig is read.
func TestPushChecksLocallyFirst(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"a bad table", []string{"--table", "a/b"}, exitcode.BadFlags, "not allowed"},
		{"a bad schema", []string{"--table", "t", "--task", "tabular_classification", "--schema", "id:INT"}, exitcode.BadFlags, `column "id" is reserved`},
		{"a bad size", []string{"--table", "t", "--target-size", "16"}, exitcode.BadFlags, "is not WxH"},
		{"the dataset", []string{"--table", "t", "--label-column", "species"}, exitcode.Local, `no label column "species"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newPushWorld(t)
			err := w.run(append([]string{imageDataset(t), "--dry-run"}, tc.args...)...)
			if exitcode.Of(err) != tc.code || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v (exit %d), want exit %d with %q", err, exitcode.Of(err), tc.code, tc.want)
			}
			if w.connects != 0 {
				t.Errorf("the push read the kubeconfig %d times before failing locally", w.connects)
			}
		})
	}
}

// TestPushRefusedJSONKeepsItsShape: a flag refused before the push began
// prints the report it always printed: --bwlimit is in it once the flags
// that need no task passed (the engine's report had it), not before.
func TestPushRefusedJSONKeepsItsShape(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		bwlimit bool
	}{
		{"a flag that needs no task", []string{"--compress", "sometimes"}, false},
		{"a flag of the task", []string{"--task", "object_detection", "--label-column", "x"}, false},
		{"a flag of the spec", []string{"--data-id", "sha"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newPushWorld(t)
			err := w.run(append([]string{imageDataset(t), "--table", "t", "--bwlimit", "1M", "-o", "json"}, tc.args...)...)
			if exitcode.Of(err) != exitcode.BadFlags {
				t.Fatalf("exit %d (%v), want 2", exitcode.Of(err), err)
			}
			var got map[string]any
			must(t, json.Unmarshal(w.out.Bytes(), &got))
			if _, ok := got["bwlimit_bytes_per_s"]; ok != tc.bwlimit {
				t.Errorf("bwlimit in the report: %v, want %v\n%s", ok, tc.bwlimit, w.out)
			}
			if got["error"] != err.Error() || got["table"] != "t" || got["status"] != "failed" {
				t.Errorf("report %s", w.out)
			}
		})
	}
}

// TestPushStagesThroughOptions: a stage-only push runs to its end on the
// fake cluster, its agent working on a folder, and deletes its stage Pod.
func TestPushStagesThroughOptions(t *testing.T) {
	w := newPushWorld(t)
	var created []string
	w.o.Hooks.OnPodCreated = func(_, pod string) { created = append(created, pod) }
	ds := imageDataset(t)
	must(t, w.run(ds, "--table", "cats", "--stage-only", "-o", "json", "--stage-image", "alpine"))
	var r push.Report
	must(t, json.Unmarshal(w.out.Bytes(), &r))
	if r.Status != push.StatusStaged || !r.Verified || r.Context != "dev" || len(created) != 1 || r.StagePod != created[0] {
		t.Fatalf("report %s, pods created %q", w.out, created)
	}
	want, err := os.ReadFile(filepath.Join(ds, "labels.csv"))
	must(t, err)
	got, err := os.ReadFile(filepath.Join(w.volume, ".tracebloc-staging", "cats", "labels.csv"))
	must(t, err)
	if !bytes.Equal(got, want) {
		t.Errorf("staged labels.csv differs from the local one")
	}
	pods, err := w.client.CoreV1().Pods("tb").List(context.Background(), metav1.ListOptions{})
	must(t, err)
	if len(pods.Items) != 0 {
		t.Errorf("the push left %d pods", len(pods.Items))
	}
}

// TestPushConnectsOnlyWhenAsked: Complete builds a connector that reads no
// kubeconfig until the push calls it.
func TestPushConnectsOnlyWhenAsked(t *testing.T) {
	getter := &countingGetter{}
	o := NewPushOptions(getter, newWorld(t).io, Hooks{})
	c := newCmdPush(o)
	must(t, c.ParseFlags([]string{"--table", "t"}))
	o.Complete(c, []string{"x"})
	if getter.calls != 0 {
		t.Fatalf("Complete read the kubeconfig %d times", getter.calls)
	}
	if _, err := o.Push.Connect(); err == nil || getter.calls == 0 {
		t.Errorf("connect: %v after %d kubeconfig reads", err, getter.calls)
	}
}

// countingGetter is a kubeconfig that cannot be read, counting the tries.
type countingGetter struct {
	genericclioptions.RESTClientGetter
	calls int
}

func (g *countingGetter) ToRawKubeConfigLoader() clientcmd.ClientConfig { g.calls++; return nil }

func (g *countingGetter) ToRESTConfig() (*rest.Config, error) {
	g.calls++
	return nil, errors.New("no kubeconfig here")
}
