package dataset

import (
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

// A tokenizer.json nested thousands of levels deep (a damaged file, or one
// that is not a tokenizer) is refused naming the depth, in small memory:
// the tokenizers library's reader stops at 128 levels as well.
func TestTokenizerVocabularyRefusesDeepNesting(t *testing.T) {
	tests := []struct {
		name, doc, err string
	}{
		{"arrays", strings.Repeat("[", 50000), "nested deeper than 128 levels"},
		{"objects", strings.Repeat(`{"a":`, 50000), "nested deeper than 128 levels"},
		{"deep inside the vocabulary", `{"model":{"vocab":` + strings.Repeat("[", 20000), "nested deeper than 128 levels"},
		{"128 levels are fine", strings.Repeat("[", 128) + strings.Repeat("]", 128), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := tokenizerVocabulary(strings.NewReader(tt.doc), []string{"[PAD]"})
			runtime.ReadMemStats(&after)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if (tt.err == "") != (err == nil) || !strings.Contains(got, tt.err) {
				t.Errorf("err = %v, want one naming %q", err, tt.err)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
				t.Errorf("reading %d bytes allocated %d MiB", len(tt.doc), alloc>>20)
			}
		})
	}
}

// Tokens count only where the tokenizers library reads them: a key that
// holds a "/" or reads "[]" is not a path into model.vocab or added_tokens.
func TestTokenizerVocabularyReadsOnlyItsPlaces(t *testing.T) {
	tests := []struct {
		name, doc string
		size      int
	}{
		{"vocab object", `{"model": {"vocab": {"[MASK]": 0, "[PAD]": 1}}}`, 2},
		{"a key that spells model/vocab", `{"model/vocab": {"[MASK]": 0, "[PAD]": 1}}`, 0},
		{"a key that spells vocab/[]", `{"model": {"vocab/[]": ["[MASK]"]}}`, 0},
		{"a key [] in the vocab", `{"model": {"vocab": {"[]": ["[MASK]"]}}}`, 1},
		{"a key that spells added_tokens/[]", `{"added_tokens/[]": {"content": "[MASK]"}}`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := tokenizerVocabulary(strings.NewReader(tt.doc), []string{"[MASK]", "[PAD]"})
			if err != nil {
				t.Fatal(err)
			}
			if v.size != tt.size {
				t.Errorf("read %d tokens (%v), want %d", v.size, v.has, tt.size)
			}
		})
	}
}

// A tokenizer.json that is not UTF-8 (saved as Latin-1 after an edit), or
// that goes on after its JSON object, is refused: the tokenizers library
// reads one UTF-8 JSON value, and encoding/json would quietly read such
// bytes as U+FFFD and a stream of values one after the other.
func TestTokenizerVocabularyRefusesWhatTheLibraryRefuses(t *testing.T) {
	tests := []struct {
		name, doc, err string
	}{
		{"Latin-1 token", "{\"model\": {\"vocab\": {\"[MASK]\": 0, \"[PAD]\": 1, \"caf\xe9\": 2}}}", "not UTF-8 at byte 51"},
		{"a rune cut short in a token", "{\"model\": {\"vocab\": {\"[MASK]\": 0, \"[PAD]\": 1, \"\xe2\x82\": 2}}}", "not UTF-8 at byte 48"},
		{"a rune cut short at the end", "{\"model\": {\"vocab\": {\"[MASK]\": 0, \"[PAD]\": 1, \"\xe2\x82", "not UTF-8"},
		{"a second value after the tokenizer", "{\"model\": {\"vocab\": {\"[MASK]\": 0, \"[PAD]\": 1}}} {}", "more follows the tokenizer's JSON object"},
		{"UTF-8 across reads", "{\"model\": {\"vocab\": {\"[MASK]\": 0, \"[PAD]\": 1, \"caf\u00e9 \u20ac \U0001F600\": 2}}}", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Whole, and one byte a read: every rune split across reads.
			for _, r := range []io.Reader{strings.NewReader(tt.doc), iotest.OneByteReader(strings.NewReader(tt.doc))} {
				_, err := tokenizerVocabulary(r, []string{"[MASK]", "[PAD]"})
				got := ""
				if err != nil {
					got = err.Error()
				}
				if (tt.err == "") != (err == nil) || !strings.Contains(got, tt.err) {
					t.Errorf("err = %v, want one naming %q", err, tt.err)
				}
			}
		})
	}
}
