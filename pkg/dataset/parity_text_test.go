package dataset

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/category"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// verdict is what the ingestor does with a dataset of the corpus.
type verdict int

const (
	// refused: the ingestor refuses the dataset before it ingests a record.
	refused verdict = iota
	// skipped: the ingestor drops the record and goes on; the run then
	// reports skipped records, which INGESTION.md counts as a failed run.
	skipped
	// accepted: the ingestor ingests every record, perhaps with a warning.
	accepted
	// stricter: the ingestor accepts, perhaps with a warning; the
	// pre-flight refuses by a rule chosen where the published facts stop
	// (the source says which).
	stricter
)

func (v verdict) String() string {
	return [...]string{"refuses the dataset", "skips the record", "accepts", "accepts (the pre-flight is stricter by choice)"}[v]
}

// corpusCase is a text or tabular dataset users get wrong (or right), what
// the ingestor does with it, and the rule's source. want is a part of the
// pre-flight's report naming the problem (file and line); for an accepted
// case it is a part of a note, or empty.
type corpusCase struct {
	name    string
	source  string
	verdict verdict
	mutate  func(t *testing.T, dir string)
	want    string
}

// Sources of the text rules: a line of CATEGORIES.md or a field of the
// contracts, and the ingestor validator that applies it.
const (
	srcTxtLayout   = "CATEGORIES.md Text family: labels.csv + texts/ (sequences/ for MLM); layout.v1.json primary_subdir"
	srcTxtExt      = "ingestor FileTypeValidator: one extension in the primary folder, .txt/.text (ingest.v1.json spec.file_options.extension)"
	srcTxtContent  = "CATEGORIES.md Text family 'every file named by a row exists, is UTF-8'; ingestor TextContentValidator refuses NUL and non-UTF-8, only warns on an empty text"
	srcTxtRows     = "CATEGORIES.md Common: a bare filename gets the spec's extension; a row whose file is missing is dropped at transfer"
	srcFilenameCol = "ingestor IngestableRecordsValidator: an exact lower-case filename column (header names trimmed as pandas reads them), ≥ 1 data row"
	srcCSVRow      = "ingestor CSV reading (pandas, on_bad_lines=warn): a row with more fields than the header is dropped"
	srcCSVHeader   = "CATEGORIES.md Common 'header with unique names'"
	srcRecord      = "CATEGORIES.md Text family 'record format … tab-separated, one line … enforced'; layout.v1.json record_format {enforced, fields, min_fields}; ingestor TabSeparatedRecordValidator"
	srcNotEnforced = "layout.v1.json record_format.enforced = false: the ingestor reads any text"
	srcBIO         = "CATEGORIES.md token_classification 'BIO tags'; ingestor BIOLabelValidator: O, B-<type> or I-<type>, one tag per word of the file"
	srcSelfSup     = "layout.v1.json manifest.has_label_column = false; ingest.v1.json: self-supervised categories set no label, a label column is not read"
	srcBIOPlain    = "ingestor BIOLabelValidator: reads labels.csv with pandas' defaults (no escapechar, on_bad_lines=warn), before the ingest loop reads it with escapechar \\"
	srcLabelNA     = "ingestor CSVIngestor.read_data: a text task's labels.csv is read with na_values [\"\"] and keep_default_na off, so None and NA are class names (issue 22, confirmed by the oracle); its BIOLabelValidator reads with pandas' default NA words, NA becomes the tag nan"
	srcCSVShort    = "pandas (the ingestor's read_data): a row with fewer fields than the header is read with the missing cells empty (NaN)"
	srcLabelLong   = "ingestor database.py: label is String(255); MySQL refuses a longer value (the oracle's mysql: 1406)"
	srcTokenizer   = "ingestor TokenizerValidator: tokenizer.json at the staged root; required with [MASK] and [PAD] for MLM, optional with [PAD] for text and token classification; tokens from model.vocab or added_tokens"
)

// tokenizerWith writes tokenizer.json holding only the given special tokens
// (and the fixture's words).
func tokenizerWith(special ...string) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		must(t, fixture.WriteTokenizer(filepath.Join(dir, TokenizerFile), special...))
	}
}

const tN = 6

var textTasks = []string{"text_classification", "token_classification", "sentence_pair_classification",
	"masked_language_modeling", "causal_language_modeling", "seq2seq", "embeddings"}

func textDirOf(task string) string {
	if task == "masked_language_modeling" {
		return "sequences"
	}
	return "texts"
}

func textName(i int) string { return "t_0000" + string(rune('0'+i)) + ".txt" }

// writeIn writes a file into a folder of the dataset.
func writeIn(sub, name, body string) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		writeFile(t, filepath.Join(dir, sub, name), body)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	must(t, err)
	return string(b)
}

// replaceIn replaces the first from in the file at rel under the dataset.
func replaceIn(rel, from, to string) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		s := readFile(t, p)
		if !strings.Contains(s, from) {
			t.Fatalf("%s lacks %q", rel, from)
		}
		writeFile(t, p, strings.Replace(s, from, to, 1))
	}
}

// textCommonCases hold for every text task.
func textCommonCases(task string) []corpusCase {
	d := textDirOf(task)
	tk, _ := category.Lookup(task)
	cols, exts := `"Filename"`, strings.Join(tk.Primary.Extensions, " or ")
	if tk.Manifest.HasLabel() {
		cols += `, "label"`
	}
	cases := []corpusCase{
		{"valid", "", accepted, func(*testing.T, string) {}, ""},
		{"filename without extension", srcTxtRows, accepted, func(t *testing.T, dir string) {
			editCSV(t, dir, func(rows [][]string) [][]string {
				for _, r := range rows[1:] {
					r[0] = strings.TrimSuffix(r[0], ".txt")
				}
				return rows
			})
		}, ""},
		{"filename header padded with spaces", srcFilenameCol, accepted, func(t *testing.T, dir string) {
			editCSV(t, dir, func(rows [][]string) [][]string { rows[0][0] = " filename "; return rows })
		}, ""},
		{"text of no row", srcTxtRows, accepted, writeIn(d, "extra.txt", "x\ty"), "have no row in labels.csv (staged, but not ingested): " + d + "/extra.txt"},
		{"row names a missing file", srcTxtRows, skipped, func(t *testing.T, dir string) {
			setCell(t, dir, "filename", 1, "ghost.txt")
		}, "1 rows of labels.csv name files that are not in " + d + "/: ghost.txt: put those files in " + d + "/ or remove their rows"},
		{"filename with its folder", srcTxtRows, skipped, func(t *testing.T, dir string) {
			setCell(t, dir, "filename", 1, d+"/t_00000.txt")
		}, "1 rows of labels.csv name files that are not in " + d + "/: " + d + "/t_00000.txt: the filename column holds bare file names (e.g. a1.txt, not texts/a1.txt)"},
		{"row with an empty filename", srcTxtRows, skipped, replaceIn("labels.csv", "t_00002.txt", `""`),
			"labels.csv line 4 has an empty filename"},
		{"blank line in labels.csv", "ingestor CSV reading (pandas skip_blank_lines): a blank line is no record", accepted,
			replaceIn("labels.csv", "t_00002.txt", "\n\nt_00002.txt"), ""},
		{"row with a field too many", srcCSVRow, skipped, replaceIn("labels.csv", "t_00001.txt", "t_00001.txt,extra"),
			"labels.csv line 3 has "},
		{"Filename header", srcFilenameCol, refused, func(t *testing.T, dir string) {
			editCSV(t, dir, func(rows [][]string) [][]string { rows[0][0] = "Filename"; return rows })
		}, `labels.csv has no "filename" column ("Filename" is close: the name must be exactly "filename", lower-case); its columns are ` + cols + `: the ingestor finds each text file by that column`},
		{"column named twice", srcCSVHeader, refused, func(t *testing.T, dir string) {
			editCSV(t, dir, func(rows [][]string) [][]string {
				for i := range rows {
					rows[i] = append(rows[i], rows[i][0])
				}
				return rows
			})
		}, `labels.csv names the column "filename" twice`},
		{"header without rows", srcFilenameCol, refused, func(t *testing.T, dir string) {
			editCSV(t, dir, func(rows [][]string) [][]string { return rows[:1] })
		}, "labels.csv has a header but no rows"},
		{"labels.csv empty", srcFilenameCol, refused, func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "labels.csv"), "")
		}, "labels.csv is empty"},
		{"labels.csv in Latin-1", srcCSV, refused, func(t *testing.T, dir string) {
			editCSV(t, dir, func(rows [][]string) [][]string {
				for i := range rows {
					rows[i] = append(rows[i], "ok")
				}
				rows[0][len(rows[0])-1], rows[2][len(rows[2])-1] = "source", "caf\xe9"
				return rows
			})
		}, "labels.csv line 3 is not valid UTF-8"},
		{"text in Latin-1", srcTxtContent, refused, writeIn(d, textName(1), "a\tcaf\xe9\n"), d + "/t_00001.txt line 1 is not valid UTF-8: save the file as UTF-8 text"},
		{"text in UTF-16", srcTxtContent, refused, writeIn(d, textName(0), "\xff\xfea\x00\t\x00b\x00"), d + "/t_00000.txt line 1 holds a NUL byte: this looks like a UTF-16 or binary file; save it as UTF-8 text"},
		{"text as .md", srcTxtExt, refused, writeIn(d, "notes.md", "x"),
			"1 files in " + d + "/ are not " + exts + ": " + d + "/notes.md: save the texts as UTF-8 .txt files, or move the others out"},
		{"folder missing", srcTxtLayout, refused, func(t *testing.T, dir string) {
			must(t, os.RemoveAll(filepath.Join(dir, d)))
		}, d + "/ is missing: put the text files in a folder named " + d + " beside labels.csv"},
		// The ingestor copies the files rows name; a folder inside is
		// named by none (the oracle accepts it: test/parity, issue 22).
		{"folder holds a folder", srcTxtLayout, accepted, func(t *testing.T, dir string) {
			must(t, os.Mkdir(filepath.Join(dir, d, "more"), 0o755))
			writeFile(t, filepath.Join(dir, d, "more", "a.txt"), "x\ty")
			writeFile(t, filepath.Join(dir, d, ".notes"), "\x00")
		}, "not staged (folders and hidden files in " + d + "/ are named by no row): " + d + "/more/, " + d + "/.notes"},
	}
	if task != "token_classification" {
		// An empty text has no word for its tags: see the token cases.
		cases = append(cases, corpusCase{"empty text", srcTxtContent, accepted, writeIn(d, textName(2), " \n"),
			"empty or only white space (staged and ingested, but they hold nothing to train on): " + d + "/t_00002.txt"})
	}
	return cases
}

// oneLabel gives every row the same label.
func oneLabel(v string) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		editCSV(t, dir, func(rows [][]string) [][]string {
			for _, r := range rows[1:] {
				r[1] = v
			}
			return rows
		})
	}
}

// supervisedCases hold for the three supervised text tasks.
func supervisedCases(task string) []corpusCase {
	na := corpusCase{"label NA", srcLabelNA, accepted, func(t *testing.T, dir string) { setCell(t, dir, "label", 4, "NA") }, ""}
	long := corpusCase{"label of 256 characters", srcLabelLong, refused, func(t *testing.T, dir string) { setCell(t, dir, "label", 4, strings.Repeat("é", 256)) },
		`labels.csv line 5: the label is 256 characters long, over the 255 characters of the ingestor's label column`}
	if task == "token_classification" {
		na.verdict, na.want = refused, `labels.csv line 5: label "NA" is not a BIO tag`
		long.mutate = func(t *testing.T, dir string) { setCell(t, dir, "label", 4, strings.Repeat("O ", 128)) }
	}
	short := corpusCase{"row without its label", srcCSVShort, refused, func(t *testing.T, dir string) {
		editCSV(t, dir, func(rows [][]string) [][]string { rows[3] = rows[3][:1]; return rows })
	}, `1 rows of labels.csv have an empty "label" (the first on line 4)`}
	return []corpusCase{na, long, short,
		{"label column missing", srcLabel, refused, func(t *testing.T, dir string) { dropColumn(t, dir, "label") },
			`labels.csv has no label column "label"; its columns are "filename": name the right one with --label-column`},
		{"empty label", srcLabel, refused, func(t *testing.T, dir string) { setCell(t, dir, "label", 2, "") },
			`1 rows of labels.csv have an empty "label" (the first on line 3)`},
	}
}

// selfSupervisedCases hold for the four self-supervised text tasks.
func selfSupervisedCases(task string) []corpusCase {
	return []corpusCase{
		{"label column present", srcSelfSup, accepted, func(t *testing.T, dir string) {
			editCSV(t, dir, func(rows [][]string) [][]string {
				for i := range rows {
					rows[i] = append(rows[i], "x")
				}
				rows[0][1] = "label"
				return rows
			})
		}, `labels.csv has a "label" column: ` + task + " is self-supervised, the ingestor does not read it"},
	}
}

// recordCases hold for the two tasks whose record format is enforced.
func recordCases(task, shape string) []corpusCase {
	f := "texts/t_00001.txt"
	return []corpusCase{
		{"record without a tab", srcRecord, refused, writeIn("texts", textName(1), "one field only\n"),
			f + " line 1 has 1 field: a record of " + task + " is " + shape},
		{"record on two lines", srcRecord, refused, writeIn("texts", textName(1), "a\tb\nc\td\n"),
			f + " line 2 starts a second line: a file of " + task + " holds one record"},
		{"record broken by a CR", srcRecord, refused, writeIn("texts", textName(1), "a\tb\rc\td"),
			f + " line 1 starts a second line"},
		{"record with a blank line inside", srcRecord, refused, writeIn("texts", textName(1), "a\tb\n\nc\n"),
			f + " line 3 starts a second line"},
		{"record with an empty field", srcRecord, refused, writeIn("texts", textName(1), "a\t\n"),
			f + " line 1: field 2 "},
		{"record with a field of spaces", srcRecord, refused, writeIn("texts", textName(1), " \u3000 \tb\n"),
			f + " line 1: field 1 "},
		{"record after blank lines, CRLF", srcRecord, accepted, writeIn("texts", textName(1), "\r\n\r\na b\tc d\r\n\r\n"), ""},
	}
}

var textParity = map[string][]corpusCase{
	"text_classification": {
		{"tokenizer without [PAD]", srcTokenizer, refused, tokenizerWith("[MASK]"),
			"tokenizer.json lacks the special tokens [PAD] that text_classification needs"},
		{"tokenizer with [PAD]", srcTokenizer, accepted, tokenizerWith("[PAD]"), ""},
		{"one label value", srcLabel, refused, oneLabel("pos"), `every row of labels.csv has the same label "pos": a classifier needs at least 2 label values`},
		{"mixed extensions", srcTxtExt, refused, writeIn("texts", "z.text", "x"), "texts/ mixes extensions: .text (1 files), .txt (6 files): the ingestor takes one extension per dataset, rename them to one"},
		{"free text on many lines, tabs", srcNotEnforced, accepted, writeIn("texts", textName(0), "a\tb\n\nc\td\te\n"), ""},
	},
	"token_classification": {
		// issue 22: the ingest loop reads \ + line end as a line break, the
		// BIO validator (pandas' defaults) keeps the \ as a tag.
		{"tags continued onto the next line with \\", srcBIOPlain, refused, func(t *testing.T, dir string) { setCell(t, dir, "label", 1, "B-LOC \\\nI-LOC O") },
			`labels.csv line 2: the ingestor's BIO validator reads labels.csv without the \ escape and finds the tag "\"`},
		{"tags across lines without a backslash", srcBIOPlain, accepted, func(t *testing.T, dir string) { setCell(t, dir, "label", 1, "B-LOC\nI-LOC O") }, ""},
		{"tag that is not BIO", srcBIO, refused, func(t *testing.T, dir string) { setCell(t, dir, "label", 1, "B-LOC PER O") },
			`labels.csv line 2: label "PER" is not a BIO tag: write O, B-<type> or I-<type> for each token, separated by spaces`},
		{"tag B- without a type", srcBIO, refused, func(t *testing.T, dir string) { setCell(t, dir, "label", 2, "B- I-LOC O") },
			`labels.csv line 3: label "B-" is not a BIO tag`},
		{"lower-case tag", srcBIO, refused, func(t *testing.T, dir string) { setCell(t, dir, "label", 3, "b-loc I-LOC O") },
			`labels.csv line 4: label "b-loc" is not a BIO tag`},
		{"fewer tags than words", srcBIO, refused, func(t *testing.T, dir string) { setCell(t, dir, "label", 1, "B-LOC I-LOC") },
			"labels.csv line 2 has 2 BIO tags, texts/t_00000.txt has 3 words"},
		{"more tags than words", srcBIO, refused, func(t *testing.T, dir string) { setCell(t, dir, "label", 6, "B-LOC I-LOC O O") },
			"labels.csv line 7 has 4 BIO tags, texts/t_00005.txt has 3 words"},
		{"more words than tags, across lines", srcBIO, refused, writeIn("texts", textName(2), "Ada\nLovelace  wrote\tnotes\n"),
			"labels.csv line 4 has 3 BIO tags, texts/t_00002.txt has 4 words"},
		{"empty text with tags", srcBIO, refused, writeIn("texts", textName(4), "\n"),
			"labels.csv line 6 has 3 BIO tags, texts/t_00004.txt has 0 words"},
		{"two rows, one file, one count wrong", srcBIO, refused, func(t *testing.T, dir string) {
			appendRow(t, dir, textName(1)+",O O")
		}, "labels.csv line 8 has 2 BIO tags, texts/t_00001.txt has 3 words"},
		{"words split by any white space", srcBIO, accepted, writeIn("texts", textName(3), "\u00a0Ada\u2003Lovelace\r\n\twrote \n"), ""},
		{"one tag sequence on every row", srcBIO, accepted, func(*testing.T, string) {}, ""},
	},
	"sentence_pair_classification": append(recordCases("sentence_pair_classification", "text_a<TAB>text_b on one line, fields separated by a tab"),
		corpusCase{"three fields", srcRecord, refused, writeIn("texts", textName(3), "a\tb\tc\n"),
			"texts/t_00003.txt line 1 has 3 fields: a record of sentence_pair_classification is text_a<TAB>text_b"},
		corpusCase{"one label value", srcLabel, refused, oneLabel("entailment"), `every row of labels.csv has the same label "entailment"`},
	),
	"masked_language_modeling": {
		{"no tokenizer.json", srcTokenizer, refused, func(t *testing.T, dir string) { must(t, os.Remove(filepath.Join(dir, TokenizerFile))) },
			"tokenizer.json is missing: masked_language_modeling needs the tokenizer of your model (a tokenizer.json whose vocabulary holds [MASK] and [PAD]) beside labels.csv"},
		{"tokenizer without [MASK]", srcTokenizer, refused, tokenizerWith("[PAD]"),
			"tokenizer.json lacks the special tokens [MASK] that masked_language_modeling needs"},
		{"tokenizer that is not JSON", srcTokenizer, refused, writeIn("", TokenizerFile, `{"model": {"vocab": {"[MASK]": 1,`),
			"tokenizer.json is not valid JSON"},
		{"tokenizer without a vocabulary", srcTokenizer, refused, writeIn("", TokenizerFile, `{"version": "1.0", "model": {"type": "BPE"}}`),
			"tokenizer.json has no vocabulary"},
		{"tokenizer as a link", srcTokenizer, refused, func(t *testing.T, dir string) {
			other := filepath.Join(t.TempDir(), TokenizerFile)
			must(t, os.Rename(filepath.Join(dir, TokenizerFile), other))
			must(t, os.Symlink(other, filepath.Join(dir, TokenizerFile)))
		}, "tokenizer.json is a symbolic link"},
		{"Unigram tokenizer, special tokens in its vocab list", srcTokenizer, accepted,
			writeIn("", TokenizerFile, `{"model": {"type": "Unigram", "vocab": [["[PAD]", 0.0], ["[MASK]", 0.0], ["the", -1.5]]}}`), ""},
		{"special tokens only in added_tokens", srcTokenizer, accepted,
			writeIn("", TokenizerFile, `{"added_tokens": [{"id": 0, "content": "[PAD]"}, "[MASK]"], "model": {"type": "WordPiece", "vocab": {"the": 2}}}`), ""},
		{"texts/ instead of sequences/", srcTxtLayout, refused, func(t *testing.T, dir string) {
			must(t, os.Rename(filepath.Join(dir, "sequences"), filepath.Join(dir, "texts")))
		}, "sequences/ is missing: put the text files in a folder named sequences"},
		{".text files", srcTxtExt, refused, func(t *testing.T, dir string) {
			must(t, os.Rename(filepath.Join(dir, "sequences", textName(0)), filepath.Join(dir, "sequences", "t_00000.text")))
		}, "1 files in sequences/ are not .txt: sequences/t_00000.text: save the texts as UTF-8 .txt files, or move the others out"},
	},
	"causal_language_modeling": {
		{"plain text, no tab, many lines", srcNotEnforced, accepted, writeIn("texts", textName(1), "once upon\na time\n"), ""},
		{"empty prompt", srcNotEnforced, accepted, writeIn("texts", textName(1), "\tcompletion\n"), ""},
	},
	"seq2seq": {
		{"source only", srcNotEnforced, accepted, writeIn("texts", textName(1), "no target here"), ""},
		{"three fields", srcNotEnforced, accepted, writeIn("texts", textName(1), "a\tb\tc"), ""},
	},
	"embeddings": append(recordCases("embeddings", "anchor<TAB>positive[<TAB>negative] on one line, fields separated by a tab"),
		corpusCase{"four fields", srcRecord, refused, writeIn("texts", textName(2), "a\tp\tn\tx\n"),
			"texts/t_00002.txt line 1 has 4 fields: a record of embeddings is anchor<TAB>positive[<TAB>negative]"},
		corpusCase{"triplet with an empty negative", srcRecord, refused, writeIn("texts", textName(2), "a\tp\t \n"),
			"texts/t_00002.txt line 1: field 3 (negative) is empty"},
		corpusCase{"pair and triplet", srcRecord, accepted, writeIn("texts", textName(2), "a\tp\tn"), ""},
	),
}

// TestTextParity: for every text task, the pre-flight gives the ingestor's
// verdict on each case of the corpus, and names the problem.
func TestTextParity(t *testing.T) {
	for _, taskName := range textTasks {
		task, ok := category.Lookup(taskName)
		if !ok {
			t.Fatalf("no task %s", taskName)
		}
		runCorpusWith(t, taskName, textCorpus(task), textFixture(taskName), func(_ *testing.T, dir string, _ int) ([]string, error) {
			ds, err := CheckText(dir, TextOptionsFor(task, "label", DefaultLimits))
			if err != nil {
				return nil, err
			}
			return ds.Notes, nil
		})
	}
}

// TestTextParityFromTheCache: the verdicts the check cache gives are the
// ones a read gives, on every case of the corpus: each dataset is checked
// with a cache, then again from it, and both reports must be the read's.
func TestTextParityFromTheCache(t *testing.T) {
	was := cacheClock
	cacheClock = func() time.Time { return time.Now().Add(time.Hour) }
	defer func() { cacheClock = was }()
	for _, taskName := range textTasks {
		task, _ := category.Lookup(taskName)
		runCorpusWith(t, taskName, textCorpus(task), textFixture(taskName), func(t *testing.T, dir string, _ int) ([]string, error) {
			o := TextOptionsFor(task, "label", DefaultLimits)
			read, readErr := CheckText(dir, o)
			o.CacheDir = t.TempDir()
			var ds *Dataset
			var err error
			for range 2 {
				ds, err = CheckText(dir, o)
				if fmt.Sprint(err) != fmt.Sprint(readErr) || (err == nil && !slices.Equal(ds.Notes, read.Notes)) {
					t.Fatalf("with the check cache: %v %v; read: %v %v", err, notesOf(ds), readErr, notesOf(read))
				}
			}
			if _, cacheable := checkRules(o); cacheable && err == nil && ds.Cached == 0 {
				t.Errorf("no verdict came from the cache")
			}
			return notesOf(ds), err
		})
	}
}

// textCorpus is every case of the corpus for a text task.
func textCorpus(task category.Task) []corpusCase {
	cases := textCommonCases(task.Name)
	if task.Manifest.HasLabel() {
		cases = append(cases, supervisedCases(task.Name)...)
	} else {
		cases = append(cases, selfSupervisedCases(task.Name)...)
	}
	return append(cases, textParity[task.Name]...)
}

// textFixture builds a valid dataset of the task for a case to break.
func textFixture(task string) func(t *testing.T) string {
	return func(t *testing.T) string {
		dir := t.TempDir()
		must(t, fixture.WriteText(dir, fixture.TextOptions{Task: task, Files: tN, Seed: 1}))
		return dir
	}
}

func notesOf(ds *Dataset) []string {
	if ds == nil {
		return nil
	}
	return ds.Notes
}

// runCorpusWith runs each case on a fresh dataset and holds the pre-flight
// to the ingestor's verdict: refused, skipped and stricter datasets exit 3
// with a report that names the problem; accepted ones pass, with the note
// want names. check gets the case's index.
func runCorpusWith(t *testing.T, task string, cases []corpusCase, build func(t *testing.T) string, check func(t *testing.T, dir string, i int) (notes []string, err error)) {
	t.Helper()
	broken, valid := 0, 0
	for _, c := range cases {
		if c.verdict == accepted {
			valid++
		} else {
			broken++
		}
	}
	if broken < 10 || valid < 1 {
		t.Errorf("%s: %d broken and %d valid cases, want at least 10 and 1", task, broken, valid)
	}
	for i, c := range cases {
		t.Run(task+"/"+c.name, func(t *testing.T) {
			dir := build(t)
			c.mutate(t, dir)
			notes, err := check(t, dir, i)
			if c.verdict == accepted {
				if err != nil {
					t.Fatalf("the ingestor %s this (%s); the pre-flight refuses it:\n%v", c.verdict, c.source, err)
				}
				if c.want != "" && !strings.Contains(strings.Join(notes, "\n"), c.want) {
					t.Errorf("no note says %q: %q", c.want, notes)
				}
				return
			}
			if err == nil {
				t.Fatalf("the ingestor %s (%s); the pre-flight passes it", c.verdict, c.source)
			}
			if code := exitcode.Of(err); code != exitcode.Local {
				t.Errorf("exit code = %d, want %d", code, exitcode.Local)
			}
			if c.want == "" || !strings.Contains(err.Error(), c.want) {
				t.Errorf("the report does not name the problem %q:\n%v", c.want, err)
			}
		})
	}
}
