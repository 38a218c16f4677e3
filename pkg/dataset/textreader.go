package dataset

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"unicode/utf8"
)

// textReader passes a file through line by line and stops at the first line
// that is not UTF-8 text or holds a NUL byte, naming the line.
type textReader struct {
	r       *bufio.Reader
	pending []byte
	line    int
	err     error
}

// TextError is a labels.csv line that is not UTF-8 text.
type TextError struct {
	Line   int
	Reason string
}

func (e *TextError) Error() string {
	return fmt.Sprintf("labels.csv line %d %s", e.Line, e.Reason)
}

func newTextReader(r io.Reader) *textReader {
	return &textReader{r: bufio.NewReaderSize(r, 64<<10)}
}

func (t *textReader) Read(p []byte) (int, error) {
	for len(t.pending) == 0 {
		if t.err != nil {
			return 0, t.err
		}
		line, err := t.r.ReadBytes('\n')
		if len(line) > 0 {
			t.line++
			if t.line == 1 {
				line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
			}
			if bytes.IndexByte(line, 0) >= 0 {
				t.err = &TextError{Line: t.line, Reason: "holds a NUL byte: this looks like a UTF-16 or binary file; save it as CSV UTF-8"}
				return 0, t.err
			}
			if !utf8.Valid(line) {
				t.err = &TextError{Line: t.line, Reason: "is not valid UTF-8: save the file as CSV UTF-8"}
				return 0, t.err
			}
			t.pending = line
		}
		if err != nil {
			t.err = err
		}
	}
	n := copy(p, t.pending)
	t.pending = t.pending[n:]
	return n, nil
}
