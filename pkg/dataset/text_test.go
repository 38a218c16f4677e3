package dataset

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tracebloc/kubectl-tracebloc/pkg/category"
)

// writeTree writes files (slash paths → content) under a fresh folder.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for rel, content := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func textOpts(t *testing.T, task string) TextOptions {
	t.Helper()
	tk, ok := category.Lookup(task)
	if !ok {
		t.Fatalf("no task %s", task)
	}
	return TextOptionsFor(tk, "label", DefaultLimits)
}

func TestCheckTextAccepts(t *testing.T) {
	tests := []struct {
		name       string
		task       string
		files      map[string]string
		wantFiles  []string
		wantLabels map[string]int
		wantNotes  []string
	}{
		{name: "text classification, names with and without extension", task: "text_classification",
			files:      map[string]string{"labels.csv": "filename,label\na.txt,pos\nb,neg\n", "texts/a.txt": "great\n", "texts/b.txt": "bad"},
			wantFiles:  []string{"labels.csv", "texts/a.txt", "texts/b.txt"},
			wantLabels: map[string]int{"pos": 1, "neg": 1}},
		{name: "token classification", task: "token_classification",
			files:      map[string]string{"labels.csv": "filename,label\na.txt,B-PER I-PER O\n", "texts/a.txt": "Ada Lovelace wrote"},
			wantFiles:  []string{"labels.csv", "texts/a.txt"},
			wantLabels: map[string]int{"B-PER I-PER O": 1}},
		{name: "sentence pairs", task: "sentence_pair_classification",
			files:      map[string]string{"labels.csv": "filename,label\np1.text,same\np2.text,other\n", "texts/p1.text": "a\tb\n", "texts/p2.text": "\nc\td\r\n\r\n"},
			wantFiles:  []string{"labels.csv", "texts/p1.text", "texts/p2.text"},
			wantLabels: map[string]int{"same": 1, "other": 1}},
		{name: "masked language modeling in sequences/", task: "masked_language_modeling",
			files: map[string]string{"labels.csv": "filename,label\ns1.txt,x\n", "sequences/s1.txt": "plain text", "notes.md": "x",
				"tokenizer.json": `{"added_tokens": [{"id": 0, "content": "[PAD]"}, {"id": 1, "content": "[MASK]"}], "model": {"type": "WordLevel", "vocab": {"[PAD]": 0, "[MASK]": 1, "plain": 2}}}`},
			wantFiles: []string{"labels.csv", "sequences/s1.txt", "tokenizer.json"},
			wantNotes: []string{"not staged (only labels.csv and sequences and tokenizer.json are): notes.md",
				`labels.csv has a "label" column: masked_language_modeling is self-supervised, the ingestor does not read it`}},
		{name: "causal language modeling: the pair is not enforced", task: "causal_language_modeling",
			files:     map[string]string{"labels.csv": "filename\nc1.txt\n", "texts/c1.txt": "no tab here", "texts/extra.txt": "x"},
			wantFiles: []string{"labels.csv", "texts/c1.txt", "texts/extra.txt"},
			wantNotes: []string{"1 files in texts/ have no row in labels.csv (staged, but not ingested): texts/extra.txt"}},
		{name: "an empty text is a note, as the ingestor warns", task: "text_classification",
			files:      map[string]string{"labels.csv": "filename,label\na.txt,pos\nb.txt,neg\n", "texts/a.txt": "great\n", "texts/b.txt": " \n"},
			wantFiles:  []string{"labels.csv", "texts/a.txt", "texts/b.txt"},
			wantLabels: map[string]int{"pos": 1, "neg": 1},
			wantNotes:  []string{"1 files named in labels.csv are empty or only white space (staged and ingested, but they hold nothing to train on): texts/b.txt"}},
		{name: "embeddings: pairs and triplets", task: "embeddings",
			files:     map[string]string{"labels.csv": "filename\ne1.txt\ne2.txt\n", "texts/e1.txt": "a\tp\n", "texts/e2.txt": "a\tp\tn\n"},
			wantFiles: []string{"labels.csv", "texts/e1.txt", "texts/e2.txt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := CheckText(writeTree(t, tt.files), textOpts(t, tt.task))
			if err != nil {
				t.Fatal(err)
			}
			var rels []string
			for _, f := range ds.Files {
				rels = append(rels, f.Rel)
			}
			if diff := cmp.Diff(tt.wantFiles, rels); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantLabels, ds.Labels); tt.wantLabels != nil && diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantNotes, ds.Notes); diff != "" {
				t.Errorf("notes (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCheckTextLongLine crosses the reader's buffer within a record's
// line, with a rune cut at the buffer's end and a field that is white space
// only past it.
func TestCheckTextLongLine(t *testing.T) {
	pair := strings.Repeat("é", 70<<10) + "\t" + strings.Repeat("ü", 40<<10) + "\n"
	blank := strings.Repeat("x", 200<<10) + "\t" + strings.Repeat("\u00a0 ", 40<<10) + "\n"
	files := map[string]string{"labels.csv": "filename,label\na.txt,x\nb.txt,y\n", "texts/a.txt": pair, "texts/b.txt": blank}
	_, err := CheckText(writeTree(t, files), textOpts(t, "sentence_pair_classification"))
	p := problemsOf(err)
	if p == nil {
		t.Fatalf("CheckText = %v, want b.txt refused", err)
	}
	want := []string{"texts/b.txt line 1: field 2 (text_b) is empty: every field of a record of sentence_pair_classification holds text (text_a<TAB>text_b on one line, fields separated by a tab)"}
	if diff := cmp.Diff(want, p.List); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// The files are read in parallel; their problems are still reported in the
// order of the files, the first MaxProblems of them, then a count.
func TestCheckTextReportsFilesInOrder(t *testing.T) {
	files := map[string]string{}
	var csv strings.Builder
	csv.WriteString("filename,label\n")
	var want []string
	for i := range 400 {
		name := fmt.Sprintf("t%03d.txt", i)
		fmt.Fprintf(&csv, "%s,%s\n", name, []string{"pos", "neg"}[i%2])
		files["texts/"+name] = "fine text\n"
		if i%3 == 0 {
			files["texts/"+name] = "fine\n\xff\n"
			want = append(want, fmt.Sprintf("texts/%s line 2 is not valid UTF-8: save the file as UTF-8 text", name))
		}
	}
	files["labels.csv"] = csv.String()
	o := textOpts(t, "text_classification")
	o.MaxProblems = 100
	_, err := CheckText(writeTree(t, files), o)
	var probs *Problems
	if !errors.As(err, &probs) {
		t.Fatalf("err = %v, want problems", err)
	}
	want = append(want[:100], fmt.Sprintf("and %d more problems of the kind above: fix those and check again", len(want)-100))
	if diff := cmp.Diff(want, probs.List); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}
