//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The ingestor's rules a push follows (UPSTREAM-V4.md rules 14, 16, 18, 20
// and data_id), on the real cluster.

// plantIngestLock writes the ingestor's lock of table through the reader
// Pod, started the given time ago, and removes it when the test ends.
func plantIngestLock(t *testing.T, table string, ago time.Duration) string {
	t.Helper()
	started := time.Now().UTC().Add(-ago).Format("2006-01-02T15:04:05.000000") + "Z"
	content := fmt.Sprintf(`{"ingestor_id": "e2e-holder-7", "table_name": %q, "pid": 41, "hostname": "ingest-node-a", "started_at": %q}`, table, started)
	path := "/data/shared/.tracebloc-ingest-" + table + ".lock"
	inReader(t, `printf '%s' "$2" > "$1"`, path, content)
	t.Cleanup(func() { inReader(t, `rm -f "$1"`, path) })
	return started
}

// tabularDataset writes a CSV of rows rows under header (the row's values
// from row(i)) into a fresh folder.
func tabularDataset(t *testing.T, header string, rows int, row func(i int) string) string {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString(header + "\n")
	for i := 0; i < rows; i++ {
		b.WriteString(row(i) + "\n")
	}
	must(t, os.WriteFile(filepath.Join(dir, "data.csv"), []byte(b.String()), 0o644))
	return dir
}

func TestIngestLockHeldRefuses(t *testing.T) {
	const table = "e2e_lock_held"
	forgetTable(t, table)
	started := plantIngestLock(t, table, 10*time.Minute)
	r, rep := ingestPush(t, table)
	if r.code != 6 {
		t.Fatalf("want exit 6 for a held ingest lock:\n%s", r)
	}
	for _, want := range []string{"ingestor e2e-holder-7", "host ingest-node-a", "since " + started, "being ingested now"} {
		if !strings.Contains(rep.Error, want) {
			t.Errorf("the error lacks %q: %s", want, rep.Error)
		}
	}
	if rep.Run != nil {
		t.Errorf("a run was submitted: %+v", rep.Run)
	}
	if got := stagedSums(t, table); len(got) != 0 {
		t.Errorf("something was staged: %v", got)
	}
	if entries := stagingEntries(t); strings.Contains(entries, table) {
		t.Errorf("the staging folder holds something of %s:\n%s", table, entries)
	}
	assertNoStagePodsOf(t, table)
}

func TestIngestLockStaleIsANote(t *testing.T) {
	const table = "e2e_lock_stale"
	forgetTable(t, table)
	plantIngestLock(t, table, 13*time.Hour)
	r, rep := ingestPush(t, table)
	if r.code != 0 || rep.Status != "ingested" {
		t.Fatalf("want a push past a stale ingest lock:\n%s", r)
	}
	if !strings.Contains(r.stderr, "is stale") || !strings.Contains(r.stderr, "e2e-holder-7") {
		t.Errorf("no note of the stale lock:\n%s", r.stderr)
	}
	// The run took the stale lock over and removed it when it ended.
	if out := inReader(t, `ls -A /data/shared | grep -c "^.tracebloc-ingest-$1.lock$" || true`, table); strings.TrimSpace(out) != "0" {
		t.Errorf("the ingest lock is still there after the run: %s", out)
	}
	assertNoStagePodsOf(t, table)
}

func TestIngestDataIDColumn(t *testing.T) {
	const table = "e2e_dataid_col"
	forgetTable(t, table)
	// The stand-in keeps each table's ids (it has no database): an earlier
	// run of this test on the same cluster would have them claimed again.
	for _, ext := range []string{".ids", ".salt"} {
		_ = os.Remove(filepath.Join(sharedVolume(t), ".ingest-standin-db", table+ext))
	}
	dir := tabularDataset(t, "id,x,label", 20, func(i int) string { return fmt.Sprintf("%d,%d,%s", 100+i, i*3, []string{"a", "b"}[i%2]) })
	// Without --data-id, id is a column the ingestor reserves and leaves
	// out of the table (issue 22): a warning names the way to keep it.
	r := runPlugin(t, nil, "push", dir, "--table", table, "--task", "tabular_classification", "-n", ns, "--dry-run")
	if r.code != 0 || !strings.Contains(r.stderr, `"id"`) || !strings.Contains(r.stderr, "--data-id column:") {
		t.Fatalf("want a pass with a warning naming id and --data-id:\n%s", r)
	}
	r, rep := ingestDir(t, dir, table, "--task", "tabular_classification", "--data-id", "column:id")
	if r.code != 0 || rep.Status != "ingested" || rep.Run == nil || rep.Run.Summary == nil || rep.Run.Summary.Inserted != 20 {
		t.Fatalf("want 20 records ingested:\n%s", r)
	}
	if !strings.Contains(r.stderr, "strategy: column") {
		t.Errorf("the summary's spec has no data_id:\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, "data_id column: 20 rows inserted") {
		t.Errorf("the ingestor did not take its ids from the column:\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, "leave the cluster") {
		t.Errorf("no warning that the column's values leave the cluster:\n%s", r.stderr)
	}
}

func TestColumnNameTooLong(t *testing.T) {
	long := strings.Repeat("c", 65)
	dir := tabularDataset(t, "x,"+long+",label", 6, func(i int) string { return fmt.Sprintf("%d,%d,%s", i, i, []string{"a", "b"}[i%2]) })
	r := runPlugin(t, nil, "push", dir, "--table", "e2e_col_long", "--task", "tabular_classification", "-n", ns, "--dry-run")
	if r.code != 3 || !strings.Contains(r.stderr, long) || !strings.Contains(r.stderr, "65 characters") {
		t.Fatalf("want exit 3 naming the 65-character column:\n%s", r)
	}
}

func TestTimeColumnOfForecasting(t *testing.T) {
	dir := tabularDataset(t, "timestamp,load,label", 12, func(i int) string {
		return fmt.Sprintf("2026-01-%02d 00:00:00,%d,%d.5", i+1, i, i)
	})
	args := []string{"push", dir, "--table", "e2e_tsf_time", "--task", "time_series_forecasting", "-n", ns, "--dry-run"}
	r := runPlugin(t, nil, append(args, "--time-column", "Timestamp")...)
	if r.code != 0 || !strings.Contains(r.stderr, "redundant") {
		t.Fatalf("--time-column Timestamp: want a pass with a note:\n%s", r)
	}
	r = runPlugin(t, nil, append(args, "--time-column", "ts")...)
	if r.code != 2 || !strings.Contains(r.stderr, `"timestamp"`) {
		t.Fatalf("--time-column ts: want exit 2 naming timestamp:\n%s", r)
	}
}

// setPerIngestionTables sets the jobs-manager's PER_INGESTION_TABLES and
// waits until its one pod runs with it.
func setPerIngestionTables(t *testing.T, value string) {
	t.Helper()
	ctx := context.Background()
	d, err := client.AppsV1().Deployments(ns).Get(ctx, jobsManagerDeployment, metav1.GetOptions{})
	must(t, err)
	c := &d.Spec.Template.Spec.Containers[0]
	set := false
	for i := range c.Env {
		if c.Env[i].Name == "PER_INGESTION_TABLES" {
			c.Env[i].Value, set = value, true
		}
	}
	if !set {
		c.Env = append(c.Env, corev1.EnvVar{Name: "PER_INGESTION_TABLES", Value: value})
	}
	_, err = client.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{})
	must(t, err)
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=manager"})
		must(t, err)
		if len(pods.Items) == 1 && pods.Items[0].DeletionTimestamp == nil && podReady(&pods.Items[0]) && podEnv(&pods.Items[0], "PER_INGESTION_TABLES") == value {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("the jobs-manager did not roll out with PER_INGESTION_TABLES=%s", value)
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func podEnv(p *corev1.Pod, name string) string {
	for _, e := range p.Spec.Containers[0].Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func TestIngestPerIngestionTables(t *testing.T) {
	const table = "e2e_per_ingestion"
	forgetTable(t, table)
	setPerIngestionTables(t, "1")
	t.Cleanup(func() { setPerIngestionTables(t, "0") })
	r, rep := ingestPush(t, table)
	if r.code != 8 {
		t.Fatalf("want exit 8 from the jobs-manager's refusal:\n%s", r)
	}
	if !strings.Contains(r.stderr, "documents that this mode refuses image tasks") {
		t.Errorf("no warning before the push:\n%s", r.stderr)
	}
	if !strings.Contains(rep.Error, "file-bearing") || !strings.Contains(rep.Error, "staged copy is kept") {
		t.Errorf("the error lacks the jobs-manager's words or the kept copy: %s", rep.Error)
	}
	if len(stagedSums(t, table)) != 21 {
		t.Errorf("the staged copy was not kept")
	}
	// The dry run's summary says the mode is on.
	dr := runPlugin(t, nil, "push", smallDataset(t), "--table", table, "-n", ns, "--dry-run")
	if dr.code != 0 || !strings.Contains(dr.stdout+dr.stderr, "per-ingestion (PER_INGESTION_TABLES on)") {
		t.Errorf("the summary does not say per-ingestion tables are on:\n%s", dr)
	}
	assertNoStagePodsOf(t, table)
}
