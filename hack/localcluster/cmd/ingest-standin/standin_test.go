package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

const goodSpec = `apiVersion: tracebloc.io/v1
kind: IngestConfig
category: image_classification
table: %s
intent: train
csv: /data/shared/.tracebloc-staging/%[1]s/labels.csv
images: /data/shared/.tracebloc-staging/%[1]s/images/
label: label
`

func newServer(t *testing.T, prefixes string) (*httptest.Server, *fake.Clientset) {
	t.Helper()
	client := fake.NewClientset(&corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: "tracebloc", Name: "tracebloc-ingestion-authz"},
		Data:       map[string]string{authzKey: "allowed:\n- service_account: ingestor\n  namespace: tracebloc\n  table_prefixes: " + prefixes + "\n"},
	})
	client.PrependReactor("create", "tokenreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		tr := a.(k8stesting.CreateAction).GetObject().(*authnv1.TokenReview)
		switch tr.Spec.Token {
		case "ingestor-token":
			tr.Status = authnv1.TokenReviewStatus{Authenticated: true, User: authnv1.UserInfo{Username: "system:serviceaccount:tracebloc:ingestor"}}
		case "user-token":
			tr.Status = authnv1.TokenReviewStatus{Authenticated: true, User: authnv1.UserInfo{Username: "alice"}}
		}
		return true, tr, nil
	})
	s := &server{client: client, namespace: "tracebloc", release: "tracebloc", image: "standin:1", pvc: "client-pvc", log: io.Discard}
	srv := httptest.NewServer(s.routes())
	t.Cleanup(srv.Close)
	return srv, client
}

func post(t *testing.T, url, token, table, key string) (int, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(submitRequest{IngestConfig: strings.ReplaceAll(goodSpec, "%s", table), IdempotencyKey: key})
	body = bytes.ReplaceAll(body, []byte("%[1]s"), []byte(table))
	req, _ := http.NewRequest(http.MethodPost, url+"/internal/submit-ingestion-run", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestSubmit(t *testing.T) {
	srv, client := newServer(t, `["cats_", "fault_"]`)
	tests := []struct {
		name, token, table, key string
		want                    int
		wantDetail              string
	}{
		{name: "created", token: "ingestor-token", table: "cats_a", key: "k1", want: 201},
		{name: "replay", token: "ingestor-token", table: "cats_a", key: "k1", want: 200},
		{name: "second key", token: "ingestor-token", table: "cats_b", key: "k2", want: 201},
		{name: "bad token", token: "nope", table: "cats_a", key: "k3", want: 401, wantDetail: "invalid token"},
		{name: "not a service account", token: "user-token", table: "cats_a", key: "k3", want: 401, wantDetail: "not a service account"},
		{name: "prefix refused", token: "ingestor-token", table: "dogs", key: "k3", want: 403, wantDetail: "may not ingest table dogs"},
		{name: "bad key", token: "ingestor-token", table: "cats_a", key: "a b", want: 422, wantDetail: "idempotency_key"},
		{name: "bad table", token: "ingestor-token", table: "cats-x", key: "k4", want: 422, wantDetail: "not a valid table name"},
		{name: "gone", token: "ingestor-token", table: "fault_gone_x", key: "k5", want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := post(t, srv.URL, tt.token, tt.table, tt.key)
			if code != tt.want {
				t.Fatalf("status %d, want %d: %v", code, tt.want, body)
			}
			if tt.wantDetail != "" && !strings.Contains(body["detail"].(string), tt.wantDetail) {
				t.Errorf("detail %q, want %q", body["detail"], tt.wantDetail)
			}
			if code == 200 && body["replay"] != true || code == 201 && body["replay"] != false {
				t.Errorf("replay %v for status %d", body["replay"], code)
			}
		})
	}
	jobs, _ := client.BatchV1().Jobs("tracebloc").List(context.Background(), metav1.ListOptions{})
	if len(jobs.Items) != 2 {
		t.Fatalf("%d jobs, want 2", len(jobs.Items))
	}
	j := jobs.Items[0]
	pod := j.Spec.Template.Spec
	if *pod.SecurityContext.RunAsUser != ingestorUID || !*pod.SecurityContext.RunAsNonRoot || pod.Volumes[0].PersistentVolumeClaim.ClaimName != "client-pvc" {
		t.Errorf("job pod spec %+v", pod)
	}
	if j.Labels[runLabel] == "" || !strings.HasPrefix(j.Name, "ingest-job-") {
		t.Errorf("job %s labels %v", j.Name, j.Labels)
	}
	cms, _ := client.CoreV1().ConfigMaps("tracebloc").List(context.Background(), metav1.ListOptions{LabelSelector: runLabel})
	secs, _ := client.CoreV1().Secrets("tracebloc").List(context.Background(), metav1.ListOptions{LabelSelector: runLabel})
	if len(cms.Items) != 2 || len(secs.Items) != 2 {
		t.Errorf("%d ConfigMaps and %d Secrets of runs, want 2 each", len(cms.Items), len(secs.Items))
	}
}

func stageTable(t *testing.T, root, table string, rows int) string {
	t.Helper()
	dir := filepath.Join(root, ".tracebloc-staging", table)
	if err := os.MkdirAll(filepath.Join(dir, "images"), 0o755); err != nil {
		t.Fatal(err)
	}
	csv := "filename,label\n"
	for i := 0; i < rows; i++ {
		name := "img" + string(rune('a'+i)) + ".png"
		csv += name + ",x\n"
		if err := os.WriteFile(filepath.Join(dir, "images", name), []byte("png"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "labels.csv"), []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "ingest.yaml")
	spec := strings.ReplaceAll(strings.ReplaceAll(goodSpec, "%[1]s", table), "%s", table)
	if err := os.WriteFile(cfg, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestIngest(t *testing.T) {
	tests := []struct {
		name      string
		table     string
		existing  bool
		wantCode  int
		wantLines []string
		wantCopy  bool
	}{
		{name: "clean", table: "cats", wantCopy: true, wantLines: []string{"📈 Total Records Found: 3", "💾 Inserted to Database: 3", "⏭️  Skipped Records: 0", "Destination table: cats"}},
		{name: "skip", table: "fault_skip_cats", wantCopy: true, wantLines: []string{"⏭️  Skipped Records: 1", "💾 Inserted to Database: 2"}},
		{name: "fail", table: "fault_fail_cats", wantCode: 1, wantLines: []string{"ERROR - simulated failure"}},
		{name: "table exists", table: "cats", existing: true, wantCode: 1, wantLines: []string{"ERROR - table cats already exists"}},
		{name: "slow", table: "fault_slow_cats", wantCopy: true, wantLines: []string{"step 20 of 20", "Total Records Found: 3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			cfg := stageTable(t, root, tt.table, 3)
			if tt.existing {
				_ = os.MkdirAll(filepath.Join(root, tt.table), 0o755)
				_ = os.WriteFile(filepath.Join(root, tt.table, "labels.csv"), []byte("x"), 0o644)
			}
			var out bytes.Buffer
			slept := time.Duration(0)
			code := ingest(&out, cfg, root, "job-1", func(d time.Duration) { slept += d })
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d:\n%s", code, tt.wantCode, out.String())
			}
			for _, l := range tt.wantLines {
				if !strings.Contains(out.String(), l) {
					t.Errorf("output lacks %q:\n%s", l, out.String())
				}
			}
			_, err := os.Stat(filepath.Join(root, tt.table, "images", "imgb.png"))
			if (err == nil) != tt.wantCopy {
				t.Errorf("copied image present: %v, want %v", err == nil, tt.wantCopy)
			}
			if tt.table == "fault_slow_cats" && slept != slowSteps*time.Second {
				t.Errorf("slept %s", slept)
			}
		})
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

// fault_retry_: the first attempt of a run fails, the second (the Job's
// next pod, on the same volume) ingests, and leaves no marker behind.
func TestIngestRetryFailsOnce(t *testing.T) {
	root := t.TempDir()
	cfg := stageTable(t, root, "fault_retry_cats", 3)
	var first, second bytes.Buffer
	if code := ingest(&first, cfg, root, "ingest-job-1", time.Sleep); code != 1 || !strings.Contains(first.String(), "ERROR - simulated crash (fault_retry_)") {
		t.Fatalf("first attempt: exit %d, want 1 with the crash:\n%s", code, first.String())
	}
	if code := ingest(&second, cfg, root, "ingest-job-1", time.Sleep); code != 0 || !strings.Contains(second.String(), "📈 Total Records Found: 3") {
		t.Fatalf("second attempt: exit %d, want 0 with the banner:\n%s", code, second.String())
	}
	if _, err := os.Stat(filepath.Join(root, "fault_retry_cats", "images", "imgb.png")); err != nil {
		t.Errorf("the second attempt did not copy the files: %v", err)
	}
	left, _ := filepath.Glob(filepath.Join(root, ".ingest-standin-attempted-*"))
	if len(left) != 0 {
		t.Errorf("markers left on the volume: %v", left)
	}
	// Another run of the same table starts over: its first attempt fails.
	var other bytes.Buffer
	_ = os.RemoveAll(filepath.Join(root, "fault_retry_cats"))
	if code := ingest(&other, cfg, root, "ingest-job-2", time.Sleep); code != 1 {
		t.Errorf("first attempt of another run: exit %d, want 1:\n%s", code, other.String())
	}
}

// Only a fault_retry_ run's Job retries its pod.
func TestBackoffLimit(t *testing.T) {
	s := &server{namespace: "tracebloc", image: "standin:1", pvc: "client-pvc"}
	for table, want := range map[string]int32{"cats": 0, "fault_fail_cats": 0, "fault_retry_cats": 1} {
		j := s.buildJob(metav1.ObjectMeta{Name: "ingest-job-1", Labels: map[string]string{runLabel: "k"}}, "1", &spec{Table: table})
		if got := *j.Spec.BackoffLimit; got != want {
			t.Errorf("%s: backoffLimit %d, want %d", table, got, want)
		}
	}
}
