package parity

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
)

// mutation turns a valid sample into a variant users write: some still
// valid, some broken. apply reports false when it does not fit the sample.
type mutation struct {
	name  string
	fits  func(task string) bool
	apply func(s *sample, rng *rand.Rand) bool
}

// withCSV: every task whose manifest the plugin and the ingestor read
// (object detection's labels.csv is ignored under layout v4).
func withCSV(task string) bool { return task != "object_detection" }

func isFamily(f string) func(string) bool { return func(t string) bool { return family(t) == f } }
func isTask(ts ...string) func(string) bool {
	return func(t string) bool { return slices.Contains(ts, t) }
}
func labelled(t string) bool { return withCSV(t) && supervised(t) }

func rawReplace(old, new string) func([]byte) []byte {
	return func(b []byte) []byte { return bytes.ReplaceAll(b, []byte(old), []byte(new)) }
}

// row picks a data row.
func row(s *sample, rng *rand.Rand) int { return rng.IntN(len(s.tab.rows)) }

// fileKeys are the sample's files under dir/, sorted.
func fileKeys(s *sample, dir string) []string {
	var ks []string
	for k := range s.files {
		if strings.HasPrefix(k, dir+"/") && !strings.HasSuffix(k, "/") {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	return ks
}

func setCell(s *sample, col string, i int, v string) bool {
	c := s.tab.col(col)
	if c < 0 {
		return false
	}
	s.tab.rows[i][c] = v
	return true
}

func renameHeader(s *sample, from, to string) bool {
	c := s.tab.col(from)
	if c < 0 {
		return false
	}
	s.tab.header[c] = to
	if s.labelColumn == from && family(s.task) == "tabular" {
		// the flag names what the user typed
		s.labelColumn = to
		s.labelSet = true
	}
	return true
}

var mutations = []mutation{
	// line ends, byte order marks, encodings
	{"crlf", withCSV, func(s *sample, _ *rand.Rand) bool { s.dia.eol = "\r\n"; return true }},
	{"cr-only", withCSV, func(s *sample, _ *rand.Rand) bool { s.dia.eol = "\r"; return true }},
	{"bom", withCSV, func(s *sample, _ *rand.Rand) bool { s.dia.bom = true; return true }},
	{"no-final-newline", withCSV, func(s *sample, _ *rand.Rand) bool { s.dia.noLastEOL = true; return true }},
	{"quote-all", withCSV, func(s *sample, _ *rand.Rand) bool { s.dia.quoteAll = true; return true }},
	{"blank-lines", withCSV, func(s *sample, _ *rand.Rand) bool {
		s.raw = append(s.raw, func(b []byte) []byte { return append(bytes.Replace(b, []byte("\n"), []byte("\n\n"), 2), '\n', '\n') })
		return true
	}},
	{"latin1-byte", withCSV, func(s *sample, rng *rand.Rand) bool {
		return setCell(s, s.tab.header[len(s.tab.header)-1], row(s, rng), "caf\xe9")
	}},
	{"utf8-accent", withCSV, func(s *sample, rng *rand.Rand) bool {
		if family(s.task) != "tabular" {
			return setCell(s, s.labelColumn, row(s, rng), "café")
		}
		return setCell(s, "city", row(s, rng), "Zürich")
	}},
	{"nul-byte", withCSV, func(s *sample, rng *rand.Rand) bool {
		return setCell(s, s.tab.header[len(s.tab.header)-1], row(s, rng), "a\x00b")
	}},
	{"utf16", withCSV, func(s *sample, _ *rand.Rand) bool {
		s.raw = append(s.raw, func(b []byte) []byte {
			u := utf16.Encode([]rune(string(b)))
			out := []byte{0xff, 0xfe}
			for _, c := range u {
				out = append(out, byte(c), byte(c>>8))
			}
			return out
		})
		return true
	}},
	// quoting and backslashes
	{"escaped-comma", withCSV, func(s *sample, rng *rand.Rand) bool {
		// img,Rome\, IT: a backslash before the separator
		s.raw = append(s.raw, func(b []byte) []byte {
			lines := bytes.Split(b, []byte("\n"))
			i := 1 + rng.IntN(len(lines)-2)
			lines[i] = append(lines[i], []byte(`\, IT`)...)
			return bytes.Join(lines, []byte("\n"))
		})
		return true
	}},
	{"trailing-backslash", withCSV, func(s *sample, rng *rand.Rand) bool {
		c := s.tab.header[len(s.tab.header)-1]
		i := row(s, rng)
		return setCell(s, c, i, s.tab.rows[i][s.tab.col(c)]+`\`)
	}},
	{"backslash-inside", withCSV, func(s *sample, rng *rand.Rand) bool {
		if family(s.task) == "tabular" {
			return setCell(s, "city", row(s, rng), `C:\data`)
		}
		return setCell(s, s.labelColumn, row(s, rng), `a\b`)
	}},
	{"quoted-newline", withCSV, func(s *sample, rng *rand.Rand) bool {
		if family(s.task) == "tabular" {
			return setCell(s, "city", row(s, rng), "two\nlines")
		}
		return false
	}},
	{"doubled-quote", withCSV, func(s *sample, rng *rand.Rand) bool {
		if family(s.task) == "tabular" {
			return setCell(s, "city", row(s, rng), `the "old" town`)
		}
		return false
	}},
	{"unclosed-quote", withCSV, func(s *sample, rng *rand.Rand) bool {
		c := s.tab.header[len(s.tab.header)-1]
		s.raw = append(s.raw, func(b []byte) []byte {
			lines := bytes.Split(b, []byte("\n"))
			i := 1 + rng.IntN(len(lines)-2)
			lines[i] = append(lines[i], '"', 'x')
			return bytes.Join(lines, []byte("\n"))
		})
		_ = c
		return true
	}},
	{"stray-quote", withCSV, func(s *sample, _ *rand.Rand) bool {
		s.raw = append(s.raw, func(b []byte) []byte {
			lines := bytes.Split(b, []byte("\n"))
			lines[1] = append(lines[1], []byte(`a"b`)...)
			return bytes.Join(lines, []byte("\n"))
		})
		return true
	}},
	// header
	{"header-leading-space", withCSV, func(s *sample, rng *rand.Rand) bool {
		c := s.tab.header[rng.IntN(len(s.tab.header))]
		return renameHeader(s, c, " "+c)
	}},
	{"header-trailing-space", withCSV, func(s *sample, rng *rand.Rand) bool {
		c := s.tab.header[rng.IntN(len(s.tab.header))]
		return renameHeader(s, c, c+" ")
	}},
	{"header-space-inside", isFamily("tabular"), func(s *sample, _ *rand.Rand) bool { return renameHeader(s, "f2", "f 2") }},
	{"header-upper-label", labelled, func(s *sample, _ *rand.Rand) bool {
		if family(s.task) == "tabular" {
			return false
		}
		return renameHeader(s, "label", "LABEL")
	}},
	{"header-duplicate", withCSV, func(s *sample, _ *rand.Rand) bool {
		s.tab.header = append(s.tab.header, s.tab.header[0])
		for i := range s.tab.rows {
			s.tab.rows[i] = append(s.tab.rows[i], s.tab.rows[i][0])
		}
		return true
	}},
	{"trailing-comma", withCSV, func(s *sample, _ *rand.Rand) bool {
		s.raw = append(s.raw, rawReplace("\n", ",\n"))
		return true
	}},
	{"extra-column", withCSV, func(s *sample, _ *rand.Rand) bool {
		s.tab.header = append(s.tab.header, "note")
		for i := range s.tab.rows {
			s.tab.rows[i] = append(s.tab.rows[i], fmt.Sprintf("n%d", i))
		}
		return true
	}},
	{"ragged-long", withCSV, func(s *sample, rng *rand.Rand) bool {
		i := row(s, rng)
		s.tab.rows[i] = append(s.tab.rows[i], "extra")
		return true
	}},
	{"ragged-short", withCSV, func(s *sample, rng *rand.Rand) bool {
		i := row(s, rng)
		s.tab.rows[i] = s.tab.rows[i][:len(s.tab.rows[i])-1]
		return true
	}},
	{"header-only", withCSV, func(s *sample, _ *rand.Rand) bool { s.tab.rows = nil; return true }},
	// values
	{"na-label", labelled, func(s *sample, rng *rand.Rand) bool {
		w := []string{"None", "NA", "null", "N/A", "nan", "NaN", "#N/A", "NULL", "n/a", "-nan", "<NA>"}[rng.IntN(11)]
		if family(s.task) == "tabular" && s.task != "tabular_classification" && s.task != "time_series_classification" {
			return false
		}
		return setCell(s, s.labelColumn, row(s, rng), w)
	}},
	{"na-class-everywhere", labelled, func(s *sample, rng *rand.Rand) bool {
		if family(s.task) == "tabular" && s.task != "tabular_classification" {
			return false
		}
		w := []string{"None", "NA"}[rng.IntN(2)]
		s.tab.set(s.labelColumn, func(i int) bool { return i%2 == 0 }, func(int, string) string { return w })
		return s.task != "token_classification"
	}},
	{"empty-label", labelled, func(s *sample, rng *rand.Rand) bool { return setCell(s, s.labelColumn, row(s, rng), "") }},
	{"one-label", labelled, func(s *sample, _ *rand.Rand) bool {
		c := s.tab.col(s.labelColumn)
		if c < 0 || s.task == "token_classification" || (family(s.task) == "tabular" && s.task != "tabular_classification") {
			return false
		}
		s.tab.set(s.labelColumn, nil, func(int, string) string { return s.tab.rows[0][c] })
		return true
	}},
	{"label-spaces", labelled, func(s *sample, rng *rand.Rand) bool {
		if s.task == "token_classification" {
			return false
		}
		i := row(s, rng)
		c := s.tab.col(s.labelColumn)
		return setCell(s, s.labelColumn, i, " "+s.tab.rows[i][c]+" ")
	}},
	{"label-number-like", labelled, func(s *sample, _ *rand.Rand) bool {
		if s.task == "token_classification" || (family(s.task) == "tabular" && s.task != "tabular_classification") {
			return false
		}
		s.tab.set(s.labelColumn, nil, func(i int, _ string) string { return []string{"01", "2"}[i%2] })
		return true
	}},
	{"long-label", labelled, func(s *sample, rng *rand.Rand) bool {
		if s.task == "token_classification" || family(s.task) == "tabular" {
			return false
		}
		return setCell(s, s.labelColumn, row(s, rng), strings.Repeat("x", 256))
	}},
	// file names
	{"names-all-digits", isFamily("text"), func(s *sample, _ *rand.Rand) bool {
		return renameFiles(s, func(i int) string { return fmt.Sprintf("%04d", i+1) })
	}},
	{"names-digits-ext", withCSV, func(s *sample, _ *rand.Rand) bool {
		if family(s.task) == "tabular" {
			return false
		}
		return renameFiles(s, func(i int) string { return fmt.Sprintf("%04d", i+1) })
	}},
	{"names-float-like", isFamily("text"), func(s *sample, _ *rand.Rand) bool {
		return renameFiles(s, func(i int) string { return fmt.Sprintf("1e%d", i+1) })
	}},
	{"name-with-dot", withCSV, func(s *sample, _ *rand.Rand) bool {
		if family(s.task) == "tabular" {
			return false
		}
		return renameFiles(s, func(i int) string { return fmt.Sprintf("report.v%d", i+1) })
	}},
	{"name-with-space", withCSV, func(s *sample, _ *rand.Rand) bool {
		if family(s.task) == "tabular" {
			return false
		}
		return renameFiles(s, func(i int) string { return fmt.Sprintf("my doc %d", i+1) })
	}},
	{"name-with-comma", withCSV, func(s *sample, _ *rand.Rand) bool {
		if family(s.task) == "tabular" {
			return false
		}
		return renameFiles(s, func(i int) string { return fmt.Sprintf("a,%d", i+1) })
	}},
	{"missing-file", withCSV, func(s *sample, rng *rand.Rand) bool {
		if family(s.task) == "tabular" {
			return false
		}
		ks := fileKeys(s, primaryDir(s.task))
		delete(s.files, ks[rng.IntN(len(ks))])
		return true
	}},
	{"unlisted-file", withCSV, func(s *sample, rng *rand.Rand) bool {
		if family(s.task) == "tabular" {
			return false
		}
		ks := fileKeys(s, primaryDir(s.task))
		k := ks[rng.IntN(len(ks))]
		s.files[strings.Replace(k, "_0", "_9", 1)] = s.files[k]
		return true
	}},
	{"duplicate-row", withCSV, func(s *sample, rng *rand.Rand) bool {
		if family(s.task) == "tabular" {
			return false
		}
		s.tab.rows = append(s.tab.rows, slices.Clone(s.tab.rows[row(s, rng)]))
		return true
	}},
	{"ds-store", isFamily("text"), func(s *sample, _ *rand.Rand) bool {
		s.files[textDir(s.task)+"/.DS_Store"] = []byte("\x00\x00\x00\x01Bud1")
		return true
	}},
	{"unused-subfolder", isFamily("text"), func(s *sample, _ *rand.Rand) bool {
		s.files[textDir(s.task)+"/old/"] = nil
		return true
	}},
	{"subfolder-with-file", isFamily("text"), func(s *sample, _ *rand.Rand) bool {
		s.files[textDir(s.task)+"/old/x.txt"] = []byte("the river\n")
		return true
	}},
	{"mixed-extension", isFamily("text"), func(s *sample, rng *rand.Rand) bool {
		ks := fileKeys(s, textDir(s.task))
		k := ks[rng.IntN(len(ks))]
		s.files[strings.TrimSuffix(k, ".txt")+".text"] = s.files[k]
		delete(s.files, k)
		base := strings.TrimSuffix(k[strings.LastIndex(k, "/")+1:], ".txt")
		s.tab.set("filename", func(int) bool { return true }, func(_ int, old string) string {
			if old == base+".txt" {
				return base + ".text"
			}
			return old
		})
		return true
	}},
	{"text-ext-everywhere", isFamily("text"), func(s *sample, _ *rand.Rand) bool {
		for _, k := range fileKeys(s, textDir(s.task)) {
			s.files[strings.TrimSuffix(k, ".txt")+".text"] = s.files[k]
			delete(s.files, k)
		}
		s.tab.set("filename", nil, func(_ int, old string) string { return strings.Replace(old, ".txt", ".text", 1) })
		return true
	}},
	{"filename-uppercase-header", withCSV, func(s *sample, _ *rand.Rand) bool {
		if family(s.task) == "tabular" {
			return false
		}
		return renameHeader(s, "filename", "Filename")
	}},
	// text files
	{"empty-text", isFamily("text"), func(s *sample, rng *rand.Rand) bool {
		ks := fileKeys(s, textDir(s.task))
		s.files[ks[rng.IntN(len(ks))]] = nil
		return true
	}},
	{"latin1-text", isFamily("text"), func(s *sample, rng *rand.Rand) bool {
		ks := fileKeys(s, textDir(s.task))
		k := ks[rng.IntN(len(ks))]
		s.files[k] = append([]byte("caf\xe9 "), s.files[k]...)
		return true
	}},
	{"text-bom", isFamily("text"), func(s *sample, rng *rand.Rand) bool {
		ks := fileKeys(s, textDir(s.task))
		k := ks[rng.IntN(len(ks))]
		s.files[k] = append([]byte("\ufeff"), s.files[k]...)
		return true
	}},
	{"text-crlf", isFamily("text"), func(s *sample, _ *rand.Rand) bool {
		for _, k := range fileKeys(s, textDir(s.task)) {
			s.files[k] = bytes.ReplaceAll(s.files[k], []byte("\n"), []byte("\r\n"))
		}
		return true
	}},
	{"text-two-lines", isFamily("text"), func(s *sample, rng *rand.Rand) bool {
		ks := fileKeys(s, textDir(s.task))
		k := ks[rng.IntN(len(ks))]
		s.files[k] = append(s.files[k], s.files[k]...)
		return true
	}},
	{"record-no-tab", isTask("sentence_pair_classification", "embeddings", "seq2seq", "causal_language_modeling"), func(s *sample, rng *rand.Rand) bool {
		ks := fileKeys(s, "texts")
		k := ks[rng.IntN(len(ks))]
		s.files[k] = bytes.ReplaceAll(s.files[k], []byte("\t"), []byte(" "))
		return true
	}},
	{"record-three-fields", isTask("sentence_pair_classification", "embeddings"), func(s *sample, rng *rand.Rand) bool {
		ks := fileKeys(s, "texts")
		k := ks[rng.IntN(len(ks))]
		s.files[k] = append(bytes.TrimSuffix(s.files[k], []byte("\n")), []byte("\tthird part\n")...)
		return true
	}},
	{"record-empty-field", isTask("sentence_pair_classification", "embeddings"), func(s *sample, rng *rand.Rand) bool {
		ks := fileKeys(s, "texts")
		s.files[ks[rng.IntN(len(ks))]] = []byte("the river\t\n")
		return true
	}},
	// tokenizers
	{"tokenizer-model-null", isTask("text_classification", "token_classification", "masked_language_modeling"), func(s *sample, _ *rand.Rand) bool {
		s.files["tokenizer.json"] = []byte(`{"version":"1.0","added_tokens":[{"id":0,"content":"[PAD]","special":true},{"id":1,"content":"[MASK]","special":true}],"model":null}`)
		return true
	}},
	{"tokenizer-model-twice", isTask("text_classification", "token_classification", "masked_language_modeling"), func(s *sample, _ *rand.Rand) bool {
		t := string(fixture.Tokenizer("[PAD]", "[MASK]"))
		s.files["tokenizer.json"] = []byte(strings.TrimSuffix(strings.TrimSpace(t), "}") + `,"model":null}`)
		return true
	}},
	{"tokenizer-no-pad", isTask("text_classification", "token_classification", "masked_language_modeling"), func(s *sample, _ *rand.Rand) bool {
		s.files["tokenizer.json"] = fixture.Tokenizer("[MASK]")
		return true
	}},
	{"tokenizer-no-mask", isTask("masked_language_modeling", "text_classification"), func(s *sample, _ *rand.Rand) bool {
		s.files["tokenizer.json"] = fixture.Tokenizer("[PAD]")
		return true
	}},
	{"tokenizer-broken-json", isTask("text_classification", "masked_language_modeling"), func(s *sample, _ *rand.Rand) bool {
		s.files["tokenizer.json"] = []byte(`{"model": {"type": "WordLevel", `)
		return true
	}},
	{"tokenizer-vocab-only", isTask("text_classification", "token_classification", "masked_language_modeling"), func(s *sample, _ *rand.Rand) bool {
		s.files["tokenizer.json"] = []byte(`{"model":{"type":"WordLevel","vocab":{"[PAD]":0,"[MASK]":1,"[UNK]":2,"the":3},"unk_token":"[UNK]"}}`)
		return true
	}},
	{"tokenizer-missing", isTask("masked_language_modeling", "text_classification"), func(s *sample, _ *rand.Rand) bool {
		delete(s.files, "tokenizer.json")
		return true
	}},
	// BIO tags
	{"bio-continued", isTask("token_classification"), func(s *sample, rng *rand.Rand) bool {
		i := row(s, rng)
		c := s.tab.col("label")
		s.tab.rows[i][c] = strings.Replace(s.tab.rows[i][c], " ", " \\\n", 1)
		return true
	}},
	{"bio-count", isTask("token_classification"), func(s *sample, rng *rand.Rand) bool {
		return setCell(s, "label", row(s, rng), "B-LOC O")
	}},
	{"bio-bad-tag", isTask("token_classification"), func(s *sample, rng *rand.Rand) bool {
		return setCell(s, "label", row(s, rng), []string{"B-LOC X-LOC O", "B-LOC I-PER O", "b-loc i-loc o", "I-LOC I-LOC O", "B- O O"}[rng.IntN(5)])
	}},
	{"bio-tabs", isTask("token_classification"), func(s *sample, rng *rand.Rand) bool {
		return setCell(s, "label", row(s, rng), "B-LOC\tI-LOC\tO")
	}},
	{"bio-double-space", isTask("token_classification"), func(s *sample, rng *rand.Rand) bool {
		return setCell(s, "label", row(s, rng), "B-LOC  I-LOC O")
	}},
}

func primaryDir(task string) string {
	switch family(task) {
	case "image":
		return "images"
	case "text":
		return textDir(task)
	}
	return ""
}

// renameFiles gives every file of the primary folder (and its sidecars)
// the stem name(i), the manifest following.
func renameFiles(s *sample, name func(i int) string) bool {
	dir := primaryDir(s.task)
	fc := s.tab.col("filename")
	if fc < 0 {
		return false
	}
	for i, k := range fileKeys(s, dir) {
		base := k[len(dir)+1:]
		ext := base[strings.LastIndex(base, "."):]
		stem := strings.TrimSuffix(base, ext)
		ns := name(i)
		s.files[dir+"/"+ns+ext] = s.files[k]
		delete(s.files, k)
		for _, side := range []struct{ dir, suffix string }{{"annotations", ".xml"}, {"masks", "_mask.png"}} {
			if b, ok := s.files[side.dir+"/"+stem+side.suffix]; ok {
				delete(s.files, side.dir+"/"+stem+side.suffix)
				s.files[side.dir+"/"+ns+side.suffix] = b
			}
		}
		for _, r := range s.tab.rows {
			switch r[fc] {
			case base:
				r[fc] = ns + ext
			case stem:
				r[fc] = ns
			}
			if mc := s.tab.col("mask_id"); mc >= 0 && r[mc] == stem+"_mask.png" {
				r[mc] = ns + "_mask.png"
			}
		}
	}
	return true
}

// today is the date a generated "not in the future" row uses.
var today = time.Now().UTC()

func init() {
	mutations = append(mutations, tabularMutations...)
	mutations = append(mutations, imageMutations...)
	_ = fixture.ObjectDetection
}
