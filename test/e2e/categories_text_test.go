//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
)

// textShape is one dataset shape of the text and tabular families.
type textShape struct {
	name, task, table string
	// csv: the dataset is one CSV file (tabular), else a folder.
	csv bool
	// want is what the dry run's summary must say.
	want []string
}

var textShapes = []textShape{
	{name: "text with record format", task: "sentence_pair_classification", table: "e2e_txt14_pairs",
		want: []string{"files:       13 (labels.csv + 12 texts/)", "texts: /data/shared/.tracebloc-staging/e2e_txt14_pairs/texts/", "extension: .txt"}},
	{name: "plain text", task: "masked_language_modeling", table: "e2e_txt14_mlm",
		want: []string{"sequences: /data/shared/.tracebloc-staging/e2e_txt14_mlm/sequences/", "files:       14 (labels.csv + 12 sequences/ + tokenizer.json)"}},
	{name: "tabular", task: "tabular_regression", table: "e2e_txt14_tab", csv: true,
		want: []string{"--schema='f1:INT,f2:DOUBLE,f3:INT,f4:DOUBLE,city:VARCHAR(255),price:DOUBLE'", "policy: bucket"}},
	{name: "time series", task: "time_series_classification", table: "e2e_txt14_ts", csv: true,
		want: []string{"sequences:   10", "sequence_id: VARCHAR(255)"}},
}

func (s textShape) write(t *testing.T) (path string) {
	t.Helper()
	dir := t.TempDir()
	if s.csv {
		path = filepath.Join(dir, "data.csv")
		if _, err := fixture.WriteTabular(path, fixture.TabularOptions{Task: s.task, Rows: 500}); err != nil {
			t.Fatal(err)
		}
		return path
	}
	path = filepath.Join(dir, "ds")
	if err := fixture.WriteText(path, fixture.TextOptions{Task: s.task, Files: 12}); err != nil {
		t.Fatal(err)
	}
	return path
}

func (s textShape) args(path string, extra ...string) []string {
	args := []string{"push", path, "--table", s.table, "--task", s.task, "-n", ns}
	if s.task == "tabular_regression" {
		args = append(args, "--label-column", "price")
	}
	return append(args, extra...)
}

// TestTextTabularDryRun: the dry run of each shape passes, shows its
// spec, and stages nothing.
func TestTextTabularDryRun(t *testing.T) {
	for _, s := range textShapes {
		t.Run(s.name, func(t *testing.T) {
			removeStaged(t, s.table)
			path := s.write(t)
			r := runPlugin(t, nil, s.args(path, "--dry-run")...)
			if r.code != 0 {
				t.Fatalf("dry run:\n%s", r)
			}
			for _, w := range s.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("summary lacks %q:\n%s", w, r.stdout)
				}
			}
			if strings.Contains(stagingEntries(t), s.table) {
				t.Errorf("a dry run staged %s", s.table)
			}
		})
	}
}

// TestTextTabularPush: each shape is staged as an exact copy (a tabular
// CSV as labels.csv), and a re-push after editing the CSV sends the CSV only.
func TestTextTabularPush(t *testing.T) {
	for _, s := range textShapes {
		t.Run(s.name, func(t *testing.T) {
			path := s.write(t)
			removeStaged(t, s.table)
			t.Cleanup(func() { removeStaged(t, s.table) })
			r := runPlugin(t, nil, s.args(path, "-o", "json", "-q")...)
			rep := parseReport(t, r)
			if r.code != 0 || !rep.Verified {
				t.Fatalf("push:\n%s", r)
			}
			want := localSums(t, path)
			csvName := "labels.csv"
			if s.csv {
				// The one CSV is staged under the name the ingestor reads.
				want = map[string]string{"labels.csv": localSums(t, filepath.Dir(path))["data.csv"]}
				csvName = filepath.Base(path)
			}
			if diff := cmp.Diff(want, stagedSums(t, s.table)); diff != "" {
				t.Fatalf("staged copy (-local +staged):\n%s", diff)
			}
			csvPath := filepath.Join(path, csvName)
			if s.csv {
				csvPath = path
			}
			f, err := os.OpenFile(csvPath, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			line := lastLine(t, csvPath)
			if _, err := f.WriteString(line); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			r = runPlugin(t, nil, s.args(path, "-o", "json", "-q")...)
			rep = parseReport(t, r)
			if r.code != 0 || rep.Transfer == nil {
				t.Fatalf("re-push:\n%s", r)
			}
			if rep.Transfer.SentFiles != 1 {
				t.Errorf("re-push after editing the CSV sent %d files, want 1 (the CSV)", rep.Transfer.SentFiles)
			}
		})
	}
}

// lastLine is the file's last row, which appended again is a valid edit
// for every shape (same sequence, same time: still in order).
func lastLine(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return lines[len(lines)-1] + "\n"
}

// TestMaskedLanguageModelingNeedsATokenizer: the ingestor refuses an MLM
// dataset without tokenizer.json, so the push does, before the cluster is
// touched: exit 3 naming the file and the tokens, no Pod, nothing staged.
// With a tokenizer that lacks [MASK], the same, naming the token.
func TestMaskedLanguageModelingNeedsATokenizer(t *testing.T) {
	s := textShape{task: "masked_language_modeling", table: "e2e_mlm_tok"}
	for _, tt := range []struct {
		name   string
		change func(t *testing.T, dir string)
		want   string
	}{
		{"no tokenizer.json", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "tokenizer.json")); err != nil {
				t.Fatal(err)
			}
		}, "tokenizer.json is missing: masked_language_modeling needs the tokenizer of your model (a tokenizer.json whose vocabulary holds [MASK] and [PAD])"},
		{"a tokenizer without [MASK]", func(t *testing.T, dir string) {
			if err := fixture.WriteTokenizer(filepath.Join(dir, "tokenizer.json"), "[PAD]"); err != nil {
				t.Fatal(err)
			}
		}, "tokenizer.json lacks the special tokens [MASK] that masked_language_modeling needs"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := s.write(t)
			tt.change(t, path)
			removeStaged(t, s.table)
			r := runPlugin(t, nil, s.args(path)...)
			if r.code != 3 || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("push: exit %d, want 3 with %q:\n%s", r.code, tt.want, r)
			}
			assertNoStagePodsOf(t, s.table)
			if strings.Contains(stagingEntries(t), s.table) {
				t.Errorf("a refused push staged %s", s.table)
			}
		})
	}
}

// TestCSVReadAsTheIngestorReadsIt: a backslash-escaped comma is one value
// for the ingest loop but a field too many for the ingestor's Data
// Validator, which reads without the escape and refuses the file (issue
// 22), so the dry run exits 3; an escaped quote splits nothing and passes;
// a backslash ending the file escapes nothing and is refused with exit 3.
func TestCSVReadAsTheIngestorReadsIt(t *testing.T) {
	s := textShape{task: "tabular_regression", table: "e2e_csv_escapes", csv: true}
	for _, tt := range []struct {
		name string
		edit func(string) string
		code int
		want string
	}{
		{"an escaped comma", func(c string) string { return strings.Replace(c, `"Rome, IT"`, `Rome\, IT`, 1) }, 3,
			`read without the \ escape as the ingestor's Data Validator reads it`},
		{"an escaped quote", func(c string) string { return strings.Replace(c, `"Rome, IT"`, `Rome \"IT\"`, 1) }, 0, ""},
		{"a backslash ending the file", func(c string) string { return c + `9\` }, 3, `ends the file with a \ (the escape character), which escapes nothing`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := s.write(t)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			edited := tt.edit(string(b))
			if edited == string(b) {
				t.Fatal("the fixture CSV has nothing to edit")
			}
			if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
				t.Fatal(err)
			}
			r := runPlugin(t, nil, s.args(path, "--dry-run")...)
			if r.code != tt.code || !strings.Contains(r.stdout+r.stderr, tt.want) {
				t.Fatalf("dry run: exit %d, want %d with %q:\n%s", r.code, tt.code, tt.want, r)
			}
		})
	}
}
