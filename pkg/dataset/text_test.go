package dataset

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tracebloc/kubectl-tracebloc/pkg/category"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
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
			files:     map[string]string{"labels.csv": "filename,label\ns1.txt,x\n", "sequences/s1.txt": "plain text", "notes.md": "x"},
			wantFiles: []string{"labels.csv", "sequences/s1.txt"},
			wantNotes: []string{"not staged (only labels.csv and sequences are): notes.md",
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

func TestCheckTextRefuses(t *testing.T) {
	ok := "filename,label\na.txt,x\nb.txt,y\n"
	two := map[string]string{"texts/a.txt": "a\tb", "texts/b.txt": "c\td"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{"labels.csv": ok}
		for k, v := range two {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name  string
		task  string
		files map[string]string
		want  []string
	}{
		{name: "no texts folder", task: "text_classification", files: map[string]string{"labels.csv": ok},
			want: []string{"texts/ is missing: put the text files in a folder named texts beside labels.csv"}},
		{name: "missing file", task: "text_classification", files: with(map[string]string{"labels.csv": ok + "c.txt,x\n"}),
			want: []string{"1 rows of labels.csv name files that are not in texts/: c.txt: put those files in texts/ or remove their rows"}},
		{name: "not utf-8", task: "text_classification", files: with(map[string]string{"texts/b.txt": "ok\ncaf\xe9\n"}),
			want: []string{"texts/b.txt line 2 is not valid UTF-8: save the file as UTF-8 text"}},
		{name: "utf-16", task: "text_classification", files: with(map[string]string{"texts/a.txt": "\xff\xfeh\x00i\x00"}),
			want: []string{"texts/a.txt line 1 holds a NUL byte: this looks like a UTF-16 or binary file; save it as UTF-8 text"}},
		{name: "one label", task: "text_classification", files: with(map[string]string{"labels.csv": "filename,label\na.txt,x\nb.txt,x\n"}),
			want: []string{`every row of labels.csv has the same label "x": a classifier needs at least 2 label values`}},
		{name: "no label column", task: "text_classification", files: with(map[string]string{"labels.csv": "filename,class\na.txt,x\n"}),
			want: []string{`labels.csv has no label column "label"; its columns are "filename", "class": name the right one with --label-column`}},
		{name: "Filename", task: "seq2seq", files: with(map[string]string{"labels.csv": "Filename\na.txt\n"}),
			want: []string{`labels.csv has no "filename" column ("Filename" is close: the name must be exactly "filename", lower-case); its columns are "Filename": the ingestor finds each text file by that column`}},
		{name: "sentence pair without a tab, line and count named", task: "sentence_pair_classification", files: with(map[string]string{"texts/b.txt": "\nno tab\n"}),
			want: []string{"texts/b.txt line 2 has 1 field: a record of sentence_pair_classification is text_a<TAB>text_b on one line, fields separated by a tab"}},
		{name: "sentence pair on two lines", task: "sentence_pair_classification", files: with(map[string]string{"texts/b.txt": "c\td\ne\tf\n"}),
			want: []string{"texts/b.txt line 2 starts a second line: a file of sentence_pair_classification holds one record, text_a<TAB>text_b on one line, fields separated by a tab; put each record in a file of its own"}},
		{name: "embeddings with one field", task: "embeddings", files: with(map[string]string{"labels.csv": "filename\na.txt\nb.txt\n", "texts/a.txt": "anchor only"}),
			want: []string{"texts/a.txt line 1 has 1 field: a record of embeddings is anchor<TAB>positive[<TAB>negative] on one line, fields separated by a tab"}},
		{name: "bad BIO tag", task: "token_classification", files: with(map[string]string{"labels.csv": "filename,label\na.txt,B-PER X\nb.txt,O O\n"}),
			want: []string{`labels.csv line 2: label "X" is not a BIO tag: write O, B-<type> or I-<type> for each token, separated by spaces`}},
		{name: "mixed extensions", task: "text_classification", files: with(map[string]string{"texts/c.text": "z"}),
			want: []string{"texts/ mixes extensions: .text (1 files), .txt (2 files): the ingestor takes one extension per dataset, rename them to one"}},
		{name: "wrong extension", task: "text_classification", files: with(map[string]string{"texts/c.md": "z"}),
			want: []string{"1 files in texts/ are not .txt or .text: texts/c.md: save the texts as UTF-8 .txt files, or move the others out"}},
		{name: "sequences only .txt", task: "masked_language_modeling", files: map[string]string{"labels.csv": "filename\ns.text\n", "sequences/s.text": "x"},
			want: []string{"1 files in sequences/ are not .txt: sequences/s.text: save the texts as UTF-8 .txt files, or move the others out",
				"1 rows of labels.csv name files that are not in sequences/: s.text: put those files in sequences/ or remove their rows"}},
		{name: "path in filename", task: "text_classification", files: with(map[string]string{"labels.csv": "filename,label\ntexts/a.txt,x\nb.txt,y\n"}),
			want: []string{"1 rows of labels.csv name files that are not in texts/: texts/a.txt: the filename column holds bare file names (e.g. a1.txt, not texts/a1.txt)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CheckText(writeTree(t, tt.files), textOpts(t, tt.task))
			if exitcode.Of(err) != exitcode.Local {
				t.Fatalf("CheckText = %v, want exit %d", err, exitcode.Local)
			}
			var got []string
			if p := problemsOf(err); p != nil {
				got = p.List
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
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
