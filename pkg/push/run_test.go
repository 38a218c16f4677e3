package push

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	authv1 "k8s.io/api/authorization/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/ingest"
)

func chart(ns string) []runtime.Object {
	return append(chartWithoutManager(ns),
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "jobs-manager"},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "manager"}, Ports: []corev1.ServicePort{{Name: "http", Port: 8080}}}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tb-jobs-manager-1", Labels: map[string]string{"app": "manager"}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning}},
	)
}

// chartWithoutManager is the release with its jobs-manager scaled to zero.
func chartWithoutManager(ns string) []runtime.Object {
	return []runtime.Object{
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tb-jobs-manager", Labels: map[string]string{
			"app.kubernetes.io/name": "client", "app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/instance": "tb", "helm.sh/chart": "client-2.0.1"}}},
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "client-pvc"},
			Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}}},
	}
}

func TestRunExitCodes(t *testing.T) {
	tests := []struct {
		name     string
		mutate   func(*testPush)
		objects  []runtime.Object
		connErr  error
		deny     string
		wantCode int
		wantErr  string
	}{
		{name: "dry run passes", objects: chart("tb"), wantCode: 0},
		{name: "unsafe table", mutate: func(o *testPush) { o.Flags.Table = "a/b" }, wantCode: 2, wantErr: "not allowed"},
		{name: "schema", mutate: func(o *testPush) { o.Flags.Intent = "later" }, wantCode: 2, wantErr: "intent"},
		{name: "unknown task lists the tasks", mutate: func(o *testPush) { o.Flags.Category = "audio" }, wantCode: 2, wantErr: "semantic_segmentation "},
		{name: "keypoints need their flags", mutate: func(o *testPush) { o.Flags.Category = "keypoint_detection" }, wantCode: 2, wantErr: "number_of_keypoints is required"},
		{name: "a text task on an image dataset", mutate: func(o *testPush) { o.Flags.Category = "text_classification" }, wantCode: 3, wantErr: "texts/ is missing"},
		{name: "a tabular task with a bad schema", mutate: func(o *testPush) { o.Flags.Category = "tabular_classification"; o.Flags.Schema = "id:INT" }, wantCode: 2, wantErr: `column "id" is reserved`},
		{name: "a bad label policy", mutate: func(o *testPush) { o.Flags.Category = "tabular_regression"; o.Flags.LabelPolicy = "raw" }, wantCode: 2, wantErr: `--label-policy "raw" is not allowed`},
		{name: "a time series schema without its columns", mutate: func(o *testPush) { o.Flags.Category = "time_series_classification"; o.Flags.Schema = "a:INT" }, wantCode: 2, wantErr: "sequence_id is required"},
		{name: "a tabular task on a folder without a CSV", mutate: func(o *testPush) { o.Flags.Category = "tabular_classification" }, wantCode: 3, wantErr: "labels.csv"},
		{name: "object detection without annotations", mutate: func(o *testPush) { o.Flags.Category = "object_detection" }, wantCode: 3, wantErr: "annotations/ is missing"},
		{name: "dataset", mutate: func(o *testPush) { o.Flags.LabelColumn = "species" }, wantCode: 3, wantErr: `no label column "species"`},
		{name: "kubeconfig", connErr: errors.New("no kubeconfig"), wantCode: 3, wantErr: "no kubeconfig"},
		{name: "no release", wantCode: 4, wantErr: "no tracebloc client release"},
		{name: "no exec permission", objects: chart("tb"), deny: "exec", wantCode: 5, wantErr: "missing permission: create pods/exec in namespace tb"},
		{name: "no port-forward permission", objects: chart("tb"), deny: "portforward", wantCode: 5, wantErr: "missing permission: create pods/portforward in namespace tb"},
		{name: "no token permission names the account", objects: chart("tb"), deny: "token", wantCode: 5, wantErr: "missing permission: create serviceaccounts/token ingestor in namespace tb"},
		{name: "jobs-manager scaled to zero", objects: chartWithoutManager("tb"), wantCode: 8, wantErr: "no jobs-manager Service"},
		{name: "stage only needs no jobs-manager", objects: chartWithoutManager("tb"), mutate: func(o *testPush) { o.Ingest.StageOnly = true }, wantCode: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(tt.objects...)
			allowAllBut(client, tt.deny)
			o, _ := options(t, client, tt.connErr)
			if tt.mutate != nil {
				tt.mutate(o)
			}
			r, err := o.run(context.Background())
			if code := exitcode.Of(err); code != tt.wantCode {
				t.Fatalf("exit code = %d (%v), want %d", code, err, tt.wantCode)
			}
			if r.ExitCode != tt.wantCode {
				t.Errorf("report exit code = %d, want %d", r.ExitCode, tt.wantCode)
			}
			if tt.wantErr != "" && !strings.Contains(r.Error, tt.wantErr) {
				t.Errorf("report error %q lacks %q", r.Error, tt.wantErr)
			}
		})
	}
}

func TestDryRunReportAndSummary(t *testing.T) {
	client := fake.NewClientset(chart("tb")...)
	allowAllBut(client, "")
	o, out := options(t, client, nil)
	r, err := o.run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	want := []string{"bytes", "category", "context", "excluded", "exit_code", "extension", "files", "folders", "image_size", "ingestor", "intent", "jobs_manager", "labels",
		"layout_version", "namespace", "notes", "path", "permissions", "pvc", "records", "release", "schema_version", "spec", "staged_path", "staged_removed", "status", "table", "verified"}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("JSON fields of a dry run (-want +got):\n%s", diff)
	}
	if r.Status != StatusDryRun || r.Files != 7 || r.Release.ChartVersion != "2.0.1" || r.Spec.Spec.FileOptions.Extension != ".jpg" {
		t.Errorf("report = %+v", r)
	}
	for _, line := range []string{"task:        image_classification", "files:       7 (labels.csv + 6 images/)", "images:      .jpg, 16×8", "release:     tb (chart 2.0.1)",
		"volume:      client-pvc (ReadWriteMany)", "target_size:", "jobs-manager: service jobs-manager, pod tb-jobs-manager-1",
		"ingestor:    service account ingestor (default (no ConfigMap tb-ingestion-authz))"} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("summary lacks %q:\n%s", line, out)
		}
	}
	for _, a := range client.Actions() {
		if a.GetVerb() == "create" && a.GetResource().Resource != "selfsubjectaccessreviews" {
			t.Errorf("a dry run created %s", a.GetResource().Resource)
		}
	}
}

// allowAllBut answers access reviews: everything is allowed but the
// subresource named deny.
func allowAllBut(client *fake.Clientset, deny string) {
	client.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		review := a.(k8stesting.CreateAction).GetObject().(*authv1.SelfSubjectAccessReview)
		review.Status.Allowed = deny == "" || review.Spec.ResourceAttributes.Subresource != deny
		return true, review, nil
	})
}

// TestCtrlCDuringDiscoveryExits130 cuts the push off while it looks for the
// release: the failed request is the interruption, not an unreachable cluster.
func TestCtrlCDuringDiscoveryExits130(t *testing.T) {
	for _, step := range []struct{ verb, resource string }{{"list", "deployments"}, {"create", "selfsubjectaccessreviews"}} {
		t.Run(step.resource, func(t *testing.T) {
			client := fake.NewClientset(chart("tb")...)
			allowAllBut(client, "")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			client.PrependReactor(step.verb, step.resource, func(k8stesting.Action) (bool, runtime.Object, error) {
				cancel()
				return true, nil, &url.Error{Op: "Get", URL: "https://198.18.0.1:6443/apis", Err: context.Canceled}
			})
			o, _ := options(t, client, nil)
			r, err := o.run(ctx)
			if exitcode.Of(err) != exitcode.Interrupted || r.ExitCode != exitcode.Interrupted {
				t.Fatalf("exit %d (report %d): %v, want 130", exitcode.Of(err), r.ExitCode, err)
			}
			if strings.Contains(r.Error, "cannot reach") || r.Permissions == "missing" {
				t.Errorf("report says %q, permissions %q: an interruption is neither an unreachable cluster nor a missing permission", r.Error, r.Permissions)
			}
		})
	}
}

func TestExistingRunOfTheKey(t *testing.T) {
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "tb", Name: "ingest-job-1", Labels: map[string]string{ingest.RunLabel: "k1"}}}
	conn := &Connection{Client: fake.NewClientset(job), Namespace: "tb"}
	for _, tt := range []struct {
		name string
		in   IngestOptions
		want string
	}{
		{"same key", IngestOptions{IdempotencyKey: "k1"}, "ingest-job-1"},
		{"another key", IngestOptions{IdempotencyKey: "k2"}, ""},
		{"no key", IngestOptions{}, ""},
		{"stage only", IngestOptions{IdempotencyKey: "k1", StageOnly: true}, ""},
	} {
		got, err := existingRun(context.Background(), Options{Ingest: tt.in}, conn)
		if err != nil || got != tt.want {
			t.Errorf("%s: existing run %q (%v), want %q", tt.name, got, err, tt.want)
		}
	}
}

// TestCtrlCDuringTheCheckExits130AtOnce: Ctrl-C while the dataset is
// checked ends the push then, exit 130, not when the check is over (2 s
// into the pre-flight of a million texts, the push went on for 19 s).
func TestCtrlCDuringTheCheckExits130AtOnce(t *testing.T) {
	client := fake.NewClientset(chart("tb")...)
	allowAllBut(client, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	release := make(chan struct{})
	defer close(release)
	beforeCheck = func() { cancel(); <-release }
	defer func() { beforeCheck = nil }()
	o, _ := options(t, client, nil)
	type ran struct {
		r   *Report
		err error
	}
	done := make(chan ran, 1)
	go func() {
		r, err := o.run(ctx)
		done <- ran{r, err}
	}()
	select {
	case got := <-done:
		if exitcode.Of(got.err) != exitcode.Interrupted || !strings.Contains(got.r.Error, "while checking the dataset") {
			t.Fatalf("exit %d: %v, want 130 naming the check", exitcode.Of(got.err), got.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the push waited for the check to end after Ctrl-C")
	}
}
