//go:build e2e

package e2e

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
)

// setLabels rewrites the label column of dir's labels.csv: row i (from 0)
// gets label(i), or keeps its own when label returns "".
func setLabels(t *testing.T, dir string, label func(i int) string) {
	t.Helper()
	p := filepath.Join(dir, "labels.csv")
	f, err := os.Open(p)
	must(t, err)
	rows, err := csv.NewReader(f).ReadAll()
	must(t, err)
	must(t, f.Close())
	col := -1
	for i, h := range rows[0] {
		if h == "label" {
			col = i
		}
	}
	if col < 0 {
		t.Fatalf("labels.csv has no label column: %v", rows[0])
	}
	for i := range rows[1:] {
		if v := label(i); v != "" {
			rows[i+1][col] = v
		}
	}
	out, err := os.Create(p)
	must(t, err)
	w := csv.NewWriter(out)
	must(t, w.WriteAll(rows))
	must(t, out.Close())
}

// TestIngestClassesNamedNoneAndNA (issue 22): the ingestor reads the
// labels.csv of a text task with only the empty cell as missing, so None
// and NA are class names. The pre-flight refused them as empty labels;
// now the push passes and the run ingests every row.
func TestIngestClassesNamedNoneAndNA(t *testing.T) {
	const table = "e2e_parity_na_class"
	forgetTable(t, table)
	dir := filepath.Join(t.TempDir(), "ds")
	must(t, fixture.WriteText(dir, fixture.TextOptions{Task: "text_classification", Files: 12}))
	setLabels(t, dir, func(i int) string { return []string{"None", "NA"}[i%2] })
	r, rep := ingestDir(t, dir, table, "--task", "text_classification")
	if r.code != 0 || rep.Status != "ingested" || rep.Run == nil || rep.Run.Summary == nil || rep.Run.Summary.Inserted != 12 {
		t.Fatalf("want 12 records ingested:\n%s", r)
	}
	assertNoStagePodsOf(t, table)
}

// TestBIOTagsContinuedWithABackslash (issue 22): the ingest loop reads a
// \ before a line end as an escaped line break, but the ingestor's BIO
// validator reads labels.csv without the escape and refuses the tag \.
// The push refuses it first: exit 3 naming the validator's reading, no
// Pod, nothing staged.
func TestBIOTagsContinuedWithABackslash(t *testing.T) {
	const table = "e2e_parity_bio_cont"
	removeStaged(t, table)
	dir := filepath.Join(t.TempDir(), "ds")
	must(t, fixture.WriteText(dir, fixture.TextOptions{Task: "token_classification", Files: 6}))
	b, err := os.ReadFile(filepath.Join(dir, "labels.csv"))
	must(t, err)
	rows := strings.Split(string(b), "\n")
	fields := strings.SplitN(rows[1], ",", 2)
	if !strings.Contains(fields[1], " ") || strings.Contains(fields[1], `"`) {
		t.Fatalf("the fixture's first label is not plain tags: %q", rows[1])
	}
	rows[1] = fields[0] + `,"` + strings.Replace(fields[1], " ", " \\\n", 1) + `"`
	must(t, os.WriteFile(filepath.Join(dir, "labels.csv"), []byte(strings.Join(rows, "\n")), 0o644))
	r := runPlugin(t, nil, "push", dir, "--table", table, "--task", "token_classification", "-n", ns)
	want := `the ingestor's BIO validator reads labels.csv without the \ escape and finds the tag "\"`
	if r.code != 3 || !strings.Contains(r.stderr, want) {
		t.Fatalf("push: exit %d, want 3 with %q:\n%s", r.code, want, r)
	}
	assertNoStagePodsOf(t, table)
	if strings.Contains(stagingEntries(t), table) {
		t.Errorf("a refused push staged %s", table)
	}
}
