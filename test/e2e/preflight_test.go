//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
	"github.com/tracebloc/kubectl-tracebloc/pkg/stagepod"
)

func smallDataset(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ds")
	if err := fixture.Write(dir, fixture.Options{Images: 20, Width: 32, Height: 32}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestDryRunCreatesNoPod(t *testing.T) {
	w, err := client.CoreV1().Pods(ns).Watch(context.Background(), metav1.ListOptions{LabelSelector: stagepod.Selector})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	r := runPlugin(t, nil, "push", smallDataset(t), "--table", "e2e_dry", "-n", ns, "--dry-run", "-o", "json")
	if r.code != 0 {
		t.Fatalf("dry run failed:\n%s", r)
	}
	rep := parseReport(t, r)
	if rep.Status != "dry-run" || rep.Files != 21 || rep.Release == nil || rep.Release.Name != "tracebloc" {
		t.Errorf("report = %+v", rep)
	}
	if !strings.Contains(r.stderr, "Ingest spec") || !strings.Contains(r.stderr, "target_size") {
		t.Errorf("the summary did not reach stderr:\n%s", r.stderr)
	}
	deadline := time.After(2 * time.Second)
	for {
		select {
		case ev := <-w.ResultChan():
			if ev.Type == watch.Added {
				t.Fatalf("a dry run created a pod: %v", ev.Object.(*corev1.Pod).Name)
			}
		case <-deadline:
			return
		}
	}
}

func TestDryRunTextSummary(t *testing.T) {
	r := runPlugin(t, nil, "push", smallDataset(t), "--table", "e2e_dry", "-n", ns, "--dry-run")
	if r.code != 0 {
		t.Fatalf("dry run failed:\n%s", r)
	}
	for _, want := range []string{"files:       21 (labels.csv + 20 images/)", "release:     tracebloc (chart 1.0.0)",
		"volume:      client-pvc (ReadWriteOnce)", "staged at:   /data/shared/.tracebloc-staging/e2e_dry/", "dry run: every check passed"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, r.stdout)
		}
	}
}

// tempNamespace creates a restricted namespace that is deleted after the test.
func tempNamespace(t *testing.T, name string) string {
	t.Helper()
	ctx := context.Background()
	_, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name,
		Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{}) })
	return name
}

func jobsManager(namespace, name, instance string) *appsv1.Deployment {
	labels := map[string]string{"app.kubernetes.io/name": "client", "app.kubernetes.io/managed-by": "Helm",
		"app.kubernetes.io/instance": instance, "helm.sh/chart": "client-1.0.0"}
	sel := map[string]string{"e2e": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: new(int32),
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "x", Image: stageImage}}}},
		},
	}
}

func pendingPVC(namespace string) *corev1.PersistentVolumeClaim {
	sc := "e2e-none"
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "client-pvc", Namespace: namespace},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: &sc,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}},
	}
}

func TestDiscoveryFailures(t *testing.T) {
	ds := smallDataset(t)
	ctx := context.Background()
	tests := []struct {
		name    string
		setup   func(t *testing.T, ns string)
		wantErr string
	}{
		{name: "no release", setup: func(*testing.T, string) {}, wantErr: "no tracebloc client release in namespace"},
		{name: "two releases", setup: func(t *testing.T, n string) {
			for _, d := range []*appsv1.Deployment{jobsManager(n, "a-jobs-manager", "a"), jobsManager(n, "b-jobs-manager", "b")} {
				if _, err := client.AppsV1().Deployments(n).Create(ctx, d, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
		}, wantErr: "2 tracebloc client releases"},
		{name: "pvc missing", setup: func(t *testing.T, n string) {
			if _, err := client.AppsV1().Deployments(n).Create(ctx, jobsManager(n, "x-jobs-manager", "x"), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}, wantErr: "PersistentVolumeClaim client-pvc not found"},
		{name: "pvc pending", setup: func(t *testing.T, n string) {
			if _, err := client.AppsV1().Deployments(n).Create(ctx, jobsManager(n, "x-jobs-manager", "x"), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := client.CoreV1().PersistentVolumeClaims(n).Create(ctx, pendingPVC(n), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}, wantErr: "is Pending, not Bound"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := tempNamespace(t, "e2e-discovery-"+string(rune('a'+i)))
			tt.setup(t, n)
			r := runPlugin(t, nil, "push", ds, "--table", "e2e_disc", "-n", n)
			if r.code != 4 || !strings.Contains(r.stderr, tt.wantErr) {
				t.Fatalf("want exit 4 and %q, got:\n%s", tt.wantErr, r)
			}
			assertNoStagePods(t, n)
		})
	}
}

func TestLocalChecksComeFirst(t *testing.T) {
	// A kubeconfig that does not exist: local failures must be reported
	// without touching it.
	noCluster := []string{"KUBECONFIG=/nonexistent/kubeconfig"}
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, "labels.csv"), []byte("filename,label\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(bad, "images"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{name: "unsafe table", args: []string{"push", smallDataset(t), "--table", "../../etc"}, wantCode: 2, wantErr: `table "../../etc" is not allowed`},
		{name: "bad intent", args: []string{"push", smallDataset(t), "--table", "x", "--intent", "eval"}, wantCode: 2, wantErr: "intent: intent must be one of"},
		{name: "other category", args: []string{"push", smallDataset(t), "--table", "x", "--category", "text_classification"}, wantCode: 3, wantErr: "texts/ is missing"},
		{name: "bad dataset", args: []string{"push", bad, "--table", "x"}, wantCode: 3, wantErr: "header but no rows"},
		{name: "no such folder", args: []string{"push", "/nonexistent/data", "--table", "x"}, wantCode: 3, wantErr: "no such file or folder"},
		{name: "unknown flag", args: []string{"push", bad, "--tabel", "x"}, wantCode: 2, wantErr: "unknown flag: --tabel"},
		{name: "broken kubeconfig after good dataset", args: []string{"push", smallDataset(t), "--table", "x"}, wantCode: 3, wantErr: "kubeconfig"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runPlugin(t, noCluster, tt.args...)
			if r.code != tt.wantCode || !strings.Contains(r.stderr, tt.wantErr) {
				t.Fatalf("want exit %d and %q, got:\n%s", tt.wantCode, tt.wantErr, r)
			}
			if !strings.Contains("\n"+r.stderr, "\nerror: ") {
				t.Errorf("the error is not printed with kubectl's prefix:\n%s", r.stderr)
			}
		})
	}
}

func TestJSONOnFailure(t *testing.T) {
	r := runPlugin(t, nil, "push", "/nonexistent/data", "--table", "x", "-o", "json")
	rep := parseReport(t, r)
	if r.code != 3 || rep.ExitCode != 3 || rep.Status != "failed" || !strings.Contains(rep.Error, "no such file or folder") {
		t.Fatalf("report = %+v\n%s", rep, r)
	}
}

func TestVersion(t *testing.T) {
	r := runPlugin(t, nil, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "kubectl-tracebloc ") || strings.Contains(r.stdout, " dev") {
		t.Fatalf("version output:\n%s", r)
	}
}
