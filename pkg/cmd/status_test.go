//go:build linux

package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	coordv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/tracebloc/kubectl-tracebloc/internal/clustertest"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/lock"
	"github.com/tracebloc/kubectl-tracebloc/pkg/naming"
	"github.com/tracebloc/kubectl-tracebloc/pkg/output"
	"github.com/tracebloc/kubectl-tracebloc/pkg/podexec"
)

var stagedAt = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

// world is a namespace with a client release, its volume (a folder the
// in-process agent works on) and what earlier pushes left there.
type world struct {
	client *fake.Clientset
	volume string
	out    *bytes.Buffer
	errOut *bytes.Buffer
	io     genericiooptions.IOStreams
	ct     *clustertest.World
	// created are the Pods the command told its OnPodCreated hook of.
	created []string
}

func newWorld(t *testing.T, objects ...runtime.Object) *world {
	t.Helper()
	ct := clustertest.New(t, objects...)
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	return &world{client: ct.Client, volume: ct.Volume, ct: ct, out: out, errOut: errOut, io: streams}
}

func (w *world) runner(pod string) podexec.Runner { return w.ct.Runner(pod) }

// folder makes a folder in the staging folder with one file of size bytes.
func (w *world) folder(t *testing.T, name string, size int) {
	t.Helper()
	w.ct.Folder(t, name, size, stagedAt)
}

func (w *world) exists(name string) bool { return w.ct.Exists(name) }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// record is the Lease a finished push of table leaves: free, with the staged copy.
func record(table, task string) *coordv1.Lease {
	return &coordv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: "tb", Name: lock.LeaseName(table),
		Labels: map[string]string{naming.LabelManagedBy: naming.ManagedBy, naming.LabelComponent: naming.ComponentLock},
		Annotations: map[string]string{naming.AnnotationTable: table, lock.AnnotationStagedAt: stagedAt.Format(time.RFC3339),
			lock.AnnotationStagedFiles: "1", lock.AnnotationStagedBytes: "5", lock.AnnotationStagedTask: task}}}
}

// deadPush is the stage Pod and expired Lease of a push of table that died.
func deadPush(table string) []runtime.Object {
	holder := "ana@laptop pid 1 (x)"
	return []runtime.Object{clustertest.StagePod(table, "dead1", holder, stagedAt), clustertest.Lease(table, holder, stagedAt)}
}

func (w *world) status(format string) *StatusOptions {
	return &StatusOptions{Streams: w.io, Output: output.Format(format), HelperPodOptions: w.helperPod(),
		Now: func() time.Time { return stagedAt.Add(90 * time.Second) }}
}

// helperPod are the helper Pod options of a command of w: its fake
// clientset, the agent in a temporary folder, and every Pod it creates
// recorded in w.created.
func (w *world) helperPod() HelperPodOptions {
	return HelperPodOptions{Image: "alpine", PodRunningTimeout: 5 * time.Second, Clients: Clients{Client: w.client, Namespace: "tb"},
		NewRunner: w.runner, OnPodCreated: func(_, pod string) { w.created = append(w.created, pod) }}
}

func TestStatusReportsTablesAndLeftovers(t *testing.T) {
	w := newWorld(t, record("cats", "image_classification"))
	w.folder(t, "cats", 5)
	w.folder(t, ".partial-dogs", 3)
	o := w.status("json")
	must(t, o.Validate())
	must(t, o.Complete())
	must(t, o.Run(context.Background()))
	var got struct {
		Namespace string `json:"namespace"`
		Release   struct {
			Name string `json:"name"`
		} `json:"release"`
		Tables []struct {
			Table, Task string
			Files       int
			Bytes       int64
			StagedAt    time.Time `json:"staged_at"`
		} `json:"tables"`
		Leftovers []struct{ Kind, Name, Table string } `json:"leftovers"`
		ExitCode  int                                  `json:"exit_code"`
	}
	must(t, json.Unmarshal(w.out.Bytes(), &got))
	if got.Namespace != "tb" || got.Release.Name != "tb" || got.ExitCode != 0 {
		t.Errorf("report = %s", w.out)
	}
	if len(got.Tables) != 1 || got.Tables[0].Table != "cats" || got.Tables[0].Task != "image_classification" ||
		got.Tables[0].Files != 1 || got.Tables[0].Bytes != 5 || !got.Tables[0].StagedAt.Equal(stagedAt) {
		t.Errorf("tables = %+v, want cats: 1 file, 5 bytes, image_classification, staged at %s", got.Tables, stagedAt)
	}
	want := []struct{ Kind, Name, Table string }{{"Folder", "/data/shared/.tracebloc-staging/.partial-dogs", "dogs"}}
	if diff := cmp.Diff(want, got.Leftovers); diff != "" {
		t.Errorf("leftovers (-want +got):\n%s", diff)
	}
	pods, err := w.client.CoreV1().Pods("tb").List(context.Background(), metav1.ListOptions{})
	must(t, err)
	if len(pods.Items) != 0 {
		t.Errorf("status left %d pods behind", len(pods.Items))
	}
}

func TestStatusText(t *testing.T) {
	w := newWorld(t, append(deadPush("birds"), record("cats", ""))...)
	w.folder(t, "cats", 2048)
	o := w.status("text")
	must(t, o.Complete())
	must(t, o.Run(context.Background()))
	for _, line := range []string{
		"Namespace:  tb\n",
		"Release:    tb (chart 2.0.1",
		"  cats    -      1       2.0 KiB   2026-11-30 09:00:00 UTC (1m30s ago)\n",
		"Leftovers:  2 (remove them with kubectl tracebloc cleanup -n tb)\n",
		"  lease " + lock.LeaseName("birds") + " (expired: its push stopped renewing it)\n",
		"  pod tracebloc-stage-birds-dead1 (no live push owns it)\n",
	} {
		if !strings.Contains(w.out.String(), line) {
			t.Errorf("output lacks %q:\n%s", line, w.out)
		}
	}
}

func TestStatusAndCleanupRefuseAnUnknownOutput(t *testing.T) {
	w := newWorld(t)
	for name, err := range map[string]error{
		"status":  w.status("yaml").Validate(),
		"cleanup": (&CleanupOptions{Output: "yaml"}).Validate(),
	} {
		if exitcode.Of(err) != exitcode.BadFlags || err == nil || !strings.Contains(err.Error(), `--output "yaml" is not supported: use text or json`) {
			t.Errorf("%s -o yaml: %v, want exit 2 naming the formats", name, err)
		}
	}
}

func (w *world) cleanup(format string, dryRun bool) *CleanupOptions {
	return &CleanupOptions{Streams: w.io, Output: output.Format(format), DryRun: dryRun, HelperPodOptions: w.helperPod()}
}

func TestCleanupDryRunRemovesNothing(t *testing.T) {
	w := newWorld(t, deadPush("birds")...)
	w.folder(t, ".partial-birds", 3)
	w.folder(t, "cats", 3)
	o := w.cleanup("text", true)
	must(t, o.Complete())
	must(t, o.Run(context.Background()))
	for _, s := range []string{"Folder   /data/shared/.tracebloc-staging/.partial-birds   birds", "Lease    " + lock.LeaseName("birds"), "Pod      tracebloc-stage-birds-dead1", "dry run: nothing was removed\n"} {
		if !strings.Contains(w.out.String(), s) {
			t.Errorf("output lacks %q:\n%s", s, w.out)
		}
	}
	if !w.exists(".partial-birds") || !w.exists("cats") {
		t.Error("a dry run removed a folder")
	}
	if _, err := w.client.CoreV1().Pods("tb").Get(context.Background(), "tracebloc-stage-birds-dead1", metav1.GetOptions{}); err != nil {
		t.Errorf("a dry run removed the pod: %v", err)
	}
}

func TestCleanupRemovesWhatADeadPushLeft(t *testing.T) {
	w := newWorld(t, append(deadPush("birds"), record("cats", "text_classification"))...)
	w.folder(t, ".partial-birds", 3)
	w.folder(t, "cats", 3)
	o := w.cleanup("json", false)
	must(t, o.Complete())
	must(t, o.Run(context.Background()))
	var got struct {
		Status  string
		Found   []struct{ Kind, Name, Table string }
		Removed bool
	}
	must(t, json.Unmarshal(w.out.Bytes(), &got))
	if got.Status != "removed" || !got.Removed || len(got.Found) != 3 {
		t.Errorf("report = %s, want 3 leftovers removed", w.out)
	}
	if w.exists(".partial-birds") {
		t.Error("the partial folder of the dead push is still there")
	}
	if !w.exists("cats") {
		t.Error("cleanup removed a staged table")
	}
	ctx := context.Background()
	if pods, _ := w.client.CoreV1().Pods("tb").List(ctx, metav1.ListOptions{}); len(pods.Items) != 0 {
		t.Errorf("pods left: %d (the dead push's and the helper must be gone)", len(pods.Items))
	}
	if _, err := w.client.CoordinationV1().Leases("tb").Get(ctx, lock.LeaseName("birds"), metav1.GetOptions{}); err == nil {
		t.Error("the expired Lease without a record is still there")
	}
	if _, err := w.client.CoordinationV1().Leases("tb").Get(ctx, lock.LeaseName("cats"), metav1.GetOptions{}); err != nil {
		t.Errorf("the record of the staged table cats is gone: %v", err)
	}
	if !strings.Contains(w.errOut.String(), "removed folder /data/shared/.tracebloc-staging/.partial-birds") {
		t.Errorf("no note of the removed folder:\n%s", w.errOut)
	}
}

// TestHelperPodsAreToldToTheHook: every command that starts a helper Pod
// tells main's hook its name before creating it, as push does for its
// stage Pod, so a second Ctrl-C can print how to delete it.
func TestHelperPodsAreToldToTheHook(t *testing.T) {
	dir := t.TempDir()
	put(t, dir, map[string]string{"labels.csv": "filename,label\na.jpg,cat\n", "images/a.jpg": "x"})
	for name, run := range map[string]func(w *world) error{
		"status": func(w *world) error { o := w.status("json"); must(t, o.Complete()); return o.Run(context.Background()) },
		"cleanup": func(w *world) error {
			o := w.cleanup("json", true)
			must(t, o.Complete())
			return o.Run(context.Background())
		},
		"verify": func(w *world) error {
			o := w.verify(dir, "cats", "json")
			o.Task = "image_classification"
			must(t, o.Complete())
			return o.Run(context.Background())
		},
	} {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			w.folder(t, "cats", 1)
			_ = run(w)
			if len(w.created) != 1 || !strings.HasPrefix(w.created[0], "tracebloc-stage-helper-") {
				t.Errorf("%s told the hook of pods %v, want one helper pod", name, w.created)
			}
		})
	}
}
