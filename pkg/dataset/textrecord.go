package dataset

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/tracebloc/kubectl-tracebloc/pkg/category"
)

// isSpace reports whether r is white space as the ingestor splits and trims
// text: Unicode white space and the ASCII separators 0x1c to 0x1f.
func isSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// countWords counts the runs of text between white space, as the ingestor
// counts the words of a token_classification file and the tags of its
// label. It needs whole runes.
func countWords(b []byte, inWord bool) (n int, endsInWord bool) {
	for len(b) > 0 {
		r, size := rune(b[0]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRune(b)
		}
		b = b[size:]
		if isSpace(r) {
			inWord = false
			continue
		}
		if !inWord {
			n++
			inWord = true
		}
	}
	return n, inWord
}

// wordCounter counts the words of a file fed to it in chunks that end on
// whole runes.
type wordCounter struct {
	n      int
	inWord bool
}

func (w *wordCounter) feed(b []byte) {
	n, in := countWords(b, w.inWord)
	w.n += n
	w.inWord = in
}

// recordCheck holds a file of an enforced record format to the ingestor's
// rule: the file is one record on one line (blank lines around it do not
// count), with between MinFields and len(Fields) fields, none of them
// empty or only white space. An empty file is no record at all: the ingestor
// warns about it and does not refuse it.
type recordCheck struct {
	format *category.RecordFormat
	sep    byte
	// line is the file's current line; first the line the record starts on.
	line, first int
	// breakPending: a line break followed text; second is the line text
	// resumed on after one (the file holds more than one line).
	breakPending bool
	second       int
	fields       int
	fieldHasText bool
	// empty lists the 1-based fields with no text; anyText is true once
	// the record holds something other than white space and separators.
	empty   []int
	anyText bool
}

func newRecordCheck(f *category.RecordFormat) *recordCheck {
	sep := byte('\t')
	if f.Separator != "" {
		sep = f.Separator[0]
	}
	return &recordCheck{format: f, sep: sep, line: 1, fields: 1}
}

// feed reads the next chunk; chunks end on whole runes.
func (c *recordCheck) feed(b []byte) {
	for i := 0; i < len(b); i++ {
		ch := b[i]
		if ch == '\n' || ch == '\r' {
			if c.first > 0 {
				c.breakPending = true
			}
			if ch == '\n' {
				c.line++
			}
			continue
		}
		if c.first == 0 {
			c.first = c.line
		}
		if c.breakPending && c.second == 0 {
			c.second = c.line
		}
		c.breakPending = false
		if ch == c.sep {
			if !c.fieldHasText {
				c.empty = append(c.empty, c.fields)
			}
			c.fields++
			c.fieldHasText = false
			continue
		}
		if c.fieldHasText {
			continue
		}
		r, size := rune(ch), 1
		if ch >= utf8.RuneSelf {
			r, size = utf8.DecodeRune(b[i:])
		}
		if !isSpace(r) {
			c.fieldHasText, c.anyText = true, true
		}
		i += size - 1
	}
}

// problem is what is wrong with the record, or "" when nothing is.
func (c *recordCheck) problem(rel, task string) string {
	if !c.anyText {
		return ""
	}
	if !c.fieldHasText {
		c.empty = append(c.empty, c.fields)
	}
	f := c.format
	shape := recordShape(f)
	switch {
	case c.second > 0:
		return fmt.Sprintf("%s line %d starts a second line: a file of %s holds one record, %s; put each record in a file of its own", rel, c.second, task, shape)
	case c.fields < f.MinFields || c.fields > len(f.Fields):
		return fmt.Sprintf("%s line %d has %d %s: a record of %s is %s", rel, c.first, c.fields, plural(c.fields, "field", "fields"), task, shape)
	case len(c.empty) > 0:
		return fmt.Sprintf("%s line %d: field %d (%s) is empty: every field of a record of %s holds text (%s)", rel, c.first, c.empty[0], f.Fields[c.empty[0]-1], task, shape)
	}
	return ""
}

// tagCount is the number of BIO tags one row of labels.csv gives its file.
type tagCount struct {
	line, tags int
	// plain: counted in the BIO validator's reading of labels.csv
	// (plainBIO), not the ingest loop's.
	plain bool
}
