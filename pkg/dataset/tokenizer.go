package dataset

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// TokenizerFile is the tokenizer a text dataset carries beside labels.csv.
// The ingestor reads it from the staged copy's root.
const TokenizerFile = "tokenizer.json"

// maxTokenizerBytes bounds the tokenizer read: the largest common ones
// (multilingual vocabularies) are under 20 MB.
const maxTokenizerBytes = 64 << 20

// maxTokenizerDepth bounds the nesting of tokenizer.json: a tokenizer is a
// few levels deep, the tokenizers library's reader stops at 128, and each
// level costs the reader a frame (a file of nothing but "[" would otherwise
// take gigabytes).
const maxTokenizerDepth = 128

// TokenizerRule is what a text task asks of tokenizer.json.
type TokenizerRule struct {
	// Required: the ingestor refuses the dataset without one.
	Required bool
	// Tokens must all be in its vocabulary.
	Tokens []string
}

// tokenizerRuleFor follows the ingestor's tokenizer check: masked language
// modeling needs a tokenizer whose vocabulary holds [MASK] and [PAD] (the
// vocabulary is what the model predicts); text and token classification
// may bring their own, which then needs [PAD]. Other text tasks do not read
// one.
func tokenizerRuleFor(task string) *TokenizerRule {
	switch task {
	case "masked_language_modeling":
		return &TokenizerRule{Required: true, Tokens: []string{"[MASK]", "[PAD]"}}
	case "text_classification", "token_classification":
		return &TokenizerRule{Tokens: []string{"[PAD]"}}
	}
	return nil
}

// checkTokenizer looks for tokenizer.json at the dataset root and, if the
// task reads one, adds it to the files to stage once it holds the tokens
// the task needs. It reports whether the file is staged.
func checkTokenizer(abs string, o TextOptions, ds *Dataset, probs *problemList) bool {
	rule := o.Tokenizer
	if rule == nil {
		return false
	}
	p := filepath.Join(abs, TokenizerFile)
	st, err := os.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if rule.Required {
			probs.add("%s is missing: %s needs the tokenizer of your model (a tokenizer.json whose vocabulary holds %s) beside labels.csv; the ingestor refuses the dataset without it",
				TokenizerFile, o.Task, strings.Join(rule.Tokens, " and "))
		}
		return false
	case err != nil:
		probs.add("reading %s: %v", TokenizerFile, err)
		return false
	case st.Mode()&fs.ModeSymlink != 0:
		probs.add("%s is a symbolic link: copy the real file into the dataset (links are refused, they can point anywhere)", TokenizerFile)
		return false
	case !st.Mode().IsRegular():
		probs.add("%s is not a regular file: put the tokenizer's JSON file there", TokenizerFile)
		return false
	case st.Size() > maxTokenizerBytes:
		probs.add("%s is %s, over the %s a tokenizer may take: check that it is the tokenizer's JSON", TokenizerFile, HumanBytes(st.Size()), HumanBytes(maxTokenizerBytes))
		return false
	}
	f, err := openRead(p)
	if err != nil {
		probs.add("reading %s: %v", TokenizerFile, err)
		return false
	}
	defer f.close()
	vocab, err := tokenizerVocabulary(io.LimitReader(f, maxTokenizerBytes), rule.Tokens)
	switch {
	case err != nil:
		probs.add("%s is not valid JSON (%v): save the tokenizer again with the tokenizers library (tokenizer.save)", TokenizerFile, err)
		return false
	case vocab.models > 1:
		probs.add("%s has %d \"model\" keys: the ingestor reads only the last and the tokenizers library refuses a repeated field; save the tokenizer again with the tokenizers library", TokenizerFile, vocab.models)
		return false
	case vocab.models == 1 && !vocab.modelObject:
		probs.add("%s has a \"model\" that is not an object (null?): the ingestor reads model.vocab from it and fails; save the tokenizer again with the tokenizers library", TokenizerFile)
		return false
	case vocab.size == 0:
		probs.add("%s has no vocabulary (neither a model.vocab nor an added_tokens list): save the tokenizer again with the tokenizers library", TokenizerFile)
		return false
	}
	var missing []string
	for _, t := range rule.Tokens {
		if !vocab.has[t] {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		probs.add("%s lacks the special tokens %s that %s needs (training would fail on them): add them to the tokenizer and save it again",
			TokenizerFile, strings.Join(missing, " and "), o.Task)
		return false
	}
	ds.Files = append(ds.Files, File{Rel: TokenizerFile, Size: st.Size(), ModTime: st.ModTime()})
	ds.Bytes += st.Size()
	return true
}

// vocabulary is what tokenizerVocabulary learned: how many tokens the
// tokenizer lists and which of the wanted ones.
type vocabulary struct {
	size int
	has  map[string]bool
	// models counts the top-level "model" keys; modelObject says the last
	// one holds an object (the ingestor reads model.vocab off it, and
	// crashes on null; the tokenizers library refuses a repeated field).
	models      int
	modelObject bool
}

// tokenizerVocabulary reads a tokenizer JSON as a stream of tokens, without
// building its tree: the tokens are the keys of model.vocab (WordPiece,
// WordLevel, BPE), the first element of each model.vocab entry (Unigram),
// and the content of each added_tokens entry (or the entry itself when it
// is a string).
func tokenizerVocabulary(r io.Reader, wanted []string) (vocabulary, error) {
	v := vocabulary{has: map[string]bool{}}
	want := map[string]bool{}
	for _, t := range wanted {
		want[t] = true
	}
	saw := func(tok string) {
		v.size++
		if want[tok] {
			v.has[tok] = true
		}
	}
	// Each open object or array is a frame; path names where it sits.
	type frame struct {
		object bool
		key    string // the key whose value comes next (objects)
		keyed  bool   // a key was read, its value not yet
		index  int    // the element count so far (arrays)
		path   string
	}
	dec := json.NewDecoder(&utf8Check{r: r})
	var stack []frame
	values := 0
	// where tells the path of the value that comes next.
	where := func() string {
		if len(stack) == 0 {
			return ""
		}
		top := stack[len(stack)-1]
		if top.object {
			if strings.Contains(top.key, "/") || top.key == "[]" {
				// A key that would read as a path of its own: under it
				// is no place tokens are read from.
				return "?"
			}
			return top.path + "/" + top.key
		}
		return top.path + "/[]"
	}
	// done marks the value at the top frame as read.
	done := func() {
		if len(stack) == 0 {
			return
		}
		top := &stack[len(stack)-1]
		if top.object {
			top.keyed = false
		} else {
			top.index++
		}
	}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			if len(stack) != 0 {
				return v, io.ErrUnexpectedEOF
			}
			return v, nil
		}
		if err != nil {
			return v, err
		}
		if len(stack) == 0 {
			// The library reads one value; what follows it is an error.
			if values++; values > 1 {
				return v, errors.New("more follows the tokenizer's JSON object")
			}
		}
		if len(stack) == 1 && stack[0].object && stack[0].keyed && stack[0].key == "model" {
			v.models++
			v.modelObject = tok == json.Delim('{')
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if len(stack) == maxTokenizerDepth {
					return v, fmt.Errorf("nested deeper than %d levels", maxTokenizerDepth)
				}
				stack = append(stack, frame{object: t == '{', path: where()})
			default:
				stack = stack[:len(stack)-1]
				done()
			}
			continue
		case string:
			if len(stack) > 0 {
				top := &stack[len(stack)-1]
				if top.object && !top.keyed {
					top.key, top.keyed = t, true
					if top.path == "/model/vocab" {
						saw(t) // a vocabulary mapping token -> id
					}
					continue
				}
				switch {
				case top.path == "/model/vocab/[]" && !top.object && top.index == 0:
					saw(t) // [token, score]
				case top.path == "/added_tokens" && !top.object:
					saw(t)
				case top.path == "/added_tokens/[]" && top.object && top.key == "content":
					saw(t)
				}
			}
		}
		done()
	}
}

// utf8Check passes a stream on and fails it at the first byte that is not
// UTF-8: encoding/json reads such bytes as U+FFFD, the tokenizers library
// refuses the file. A rune split across reads is checked whole.
type utf8Check struct {
	r     io.Reader
	carry []byte // the start of a rune cut at the end of the last read
	off   int64  // bytes checked before carry
}

func (u *utf8Check) Read(p []byte) (int, error) {
	n, err := u.r.Read(p)
	data := p[:n]
	for len(u.carry) > 0 && len(data) > 0 {
		// Complete the cut rune with the first bytes of this read.
		u.carry = append(u.carry, data[0])
		data = data[1:]
		if utf8.FullRune(u.carry) {
			if r, size := utf8.DecodeRune(u.carry); r == utf8.RuneError && size == 1 {
				return 0, u.bad(0)
			}
			u.off += int64(len(u.carry))
			u.carry = u.carry[:0]
		}
	}
	// Hold back a rune cut by the end of this read.
	keep := len(data)
	for i := len(data) - 1; i >= 0 && i >= len(data)-utf8.UTFMax+1; i-- {
		if utf8.RuneStart(data[i]) {
			if !utf8.FullRune(data[i:]) {
				keep = i
			}
			break
		}
	}
	if !utf8.Valid(data[:keep]) {
		for i := 0; i < keep; {
			r, size := utf8.DecodeRune(data[i:keep])
			if r == utf8.RuneError && size == 1 {
				return 0, u.bad(int64(i))
			}
			i += size
		}
	}
	u.off += int64(keep)
	u.carry = append(u.carry, data[keep:]...)
	if errors.Is(err, io.EOF) && len(u.carry) > 0 {
		return 0, u.bad(0)
	}
	return n, err
}

func (u *utf8Check) bad(at int64) error {
	return fmt.Errorf("not UTF-8 at byte %d", u.off+at+1)
}
