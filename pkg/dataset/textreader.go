package dataset

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// textReader passes a file through line by line and stops at the first line
// that is not UTF-8 text or holds a NUL byte, naming the line. A line longer
// than maxLine, or a record (from one mark to the next) longer than that,
// is refused after reading at most that much: nothing buffers a huge line
// whole.
type textReader struct {
	r       *bufio.Reader
	pending []byte
	line    int
	err     error
	maxLine int
	// sinceMark counts the bytes passed on since the last mark.
	sinceMark int
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
	return &textReader{r: bufio.NewReaderSize(r, 64<<10), maxLine: DefaultMaxRecord}
}

// mark tells the reader a record ended: the bytes of the next one count from here.
func (t *textReader) mark() { t.sinceMark = 0 }

func (t *textReader) Read(p []byte) (int, error) {
	for len(t.pending) == 0 {
		if t.err != nil {
			return 0, t.err
		}
		line, err := t.readLine()
		if len(line) > 0 {
			t.line++
			if t.line == 1 {
				line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
			}
			if !utf8.Valid(line) {
				t.err = &TextError{Line: t.line, Reason: "is not valid UTF-8: save the file as CSV UTF-8"}
				return 0, t.err
			}
			t.pending = line
		}
		if err != nil {
			t.err = err
			if len(line) == 0 {
				return 0, err
			}
		}
	}
	if t.sinceMark > t.maxLine {
		t.err = &TextError{Line: t.line, Reason: fmt.Sprintf("is inside a record longer than %s: check the quoting (an unclosed \" runs to the end of the file)", HumanBytes(int64(t.maxLine)))}
		return 0, t.err
	}
	n := copy(p, t.pending)
	t.pending = t.pending[n:]
	t.sinceMark += n
	return n, nil
}

// readLine reads one line, refusing a NUL byte as soon as it is read and a
// line longer than maxLine before buffering more of it. A refused line is
// returned empty with its TextError.
func (t *textReader) readLine() ([]byte, error) {
	var line []byte
	for {
		chunk, err := t.r.ReadSlice('\n')
		if bytes.IndexByte(chunk, 0) >= 0 {
			t.line++
			return nil, &TextError{Line: t.line, Reason: "holds a NUL byte: this looks like a UTF-16 or binary file; save it as CSV UTF-8"}
		}
		if len(line)+len(chunk) > t.maxLine {
			t.line++
			return nil, &TextError{Line: t.line, Reason: fmt.Sprintf("is longer than %s: check the quoting and the line ends (is this a CSV file?)", HumanBytes(int64(t.maxLine)))}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			line = append(line, chunk...)
			continue
		}
		if line == nil {
			line = append(make([]byte, 0, len(chunk)), chunk...)
		} else {
			line = append(line, chunk...)
		}
		return line, err
	}
}
