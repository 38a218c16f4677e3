// Package csvread reads CSV files in the ingestor's dialect (pandas' C
// parser with the ingestor's options): RFC 4180 quoting, backslash escapes,
// a BOM dropped, a lone CR as a line end, blank lines (empty, or spaces and
// tabs only) skipped, text after a closing quote kept. Every family
// that reads a CSV reads it with this package, so that one dialect holds
// for labels.csv and tabular data alike.
package csvread

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"unicode/utf8"
)

// Error is a problem with the text of a CSV file at a line.
type Error struct {
	File string
	Line int
	// Fatal problems end the read: the file cannot be split into records
	// past this point. Others spoil one record; the next Read goes on.
	Fatal  bool
	Reason string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s line %d %s", e.File, e.Line, e.Reason)
}

// errNeedMore says a record does not end in the buffered data.
var errNeedMore = errors.New("record continues past the buffer")

const (
	csvBufSize = 1 << 20
	// DefaultMaxRecord bounds one record (a row, with its quoted newlines):
	// the stream's memory is a few times this, whatever the file's size.
	DefaultMaxRecord = 16 << 20
)

// Stream reads the records of a CSV file in constant memory, one at a
// time, with the line each record starts on. It checks the text as it goes:
// UTF-8, no NUL byte, RFC 4180 quoting (comma separator, double quotes,
// "" inside a quoted field) and the backslash escapes of the ingestor's CSV
// reader (see parseSlow). Blank lines (empty, or only spaces and tabs) are
// skipped, as the ingestor's CSV reader does.
type Stream struct {
	r          io.Reader
	name       string
	buf        []byte
	start, end int
	eof        bool
	readErr    error
	line       int
	recLine    int
	fields     [][]byte
	bounds     []int
	scratch    []byte
	fatal      error
	maxRecord  int
	bytesRead  int64
	bomChecked bool
	plain      bool
	// forceSlow sends every record through parseSlow: tests hold the fast
	// path to it.
	forceSlow bool
	// inPlace: the fields of the last record are slices of buf (the fast
	// path), not of scratch; recStart is where that record starts in buf.
	inPlace  bool
	recStart int
	// batch, when set, is being filled by readBatch: fill hands it buf
	// rather than move bytes its records point to; spare holds buffers
	// handed back once their batch has been checked.
	batch     *Batch
	spare     [][]byte
	baseBuf   int
	bufShared bool

	// noEscape: a backslash is a character like any other (NewPlainStream).
	noEscape bool
	// escaped: a record so far had a backslash escape.
	escaped bool

	// BOM is set once the first record is read if the file began with a
	// UTF-8 byte order mark (which Read skips).
	BOM bool
}

// NewPlainStream reads CSV records from r as pandas reads them with its
// defaults, which is how the ingestor's validators (its Data, BIO and
// keypoint validators) read a CSV: the dialect of NewStream without the
// backslash escape. Where a file holds no escape (Escaped is false after
// NewStream read it all) both read the same records.
func NewPlainStream(r io.Reader, name string) *Stream {
	s := NewStream(r, name)
	s.noEscape = true
	return s
}

// Escaped says a record read so far held a backslash escape: only then can
// the validators' reading (NewPlainStream) differ from the ingest loop's.
func (c *Stream) Escaped() bool { return c.escaped }

// NewStream reads CSV records from r; name is the file named in problems.
func NewStream(r io.Reader, name string) *Stream {
	return newStreamSize(r, name, csvBufSize, DefaultMaxRecord)
}

func newStreamSize(r io.Reader, name string, bufSize, maxRecord int) *Stream {
	return &Stream{r: r, name: name, buf: make([]byte, bufSize), line: 1, maxRecord: maxRecord}
}

// Line is the line the record last returned by Read starts on.
func (c *Stream) Line() int { return c.recLine }

// BytesRead is how much of the file has been read so far.
func (c *Stream) BytesRead() int64 { return c.bytesRead }

// Read returns the next record, or io.EOF after the last. The fields alias
// the stream's buffers and are valid only until the next Read. A *Error
// that is not Fatal spoils one record only: call Read again for the next.
func (c *Stream) Read() ([][]byte, error) {
	if c.fatal != nil {
		return nil, c.fatal
	}
	for {
		if err := c.skipEmptyLines(); err != nil {
			return nil, err
		}
		data := c.buf[c.start:c.end]
		n, err := c.parse(data)
		if errors.Is(err, errNeedMore) {
			if ferr := c.fill(); ferr != nil {
				return nil, c.fail(ferr)
			}
			continue
		}
		raw := data[:n]
		c.recLine = c.line
		c.recStart = c.start
		if c.plain {
			c.line++
			c.start += n
			return c.fields, nil
		}
		c.line += bytes.Count(raw, []byte{'\n'})
		c.start += n
		if err != nil {
			return nil, err
		}
		if terr := c.checkText(raw); terr != nil {
			return nil, terr
		}
		return c.fields, nil
	}
}

// skipEmptyLines drops blank lines (and the BOM) before a record, reading
// more as needed; at the end of the file it returns io.EOF.
func (c *Stream) skipEmptyLines() error {
	for {
		if c.end-c.start < 3 && !c.eof {
			if err := c.fill(); err != nil {
				return c.fail(err)
			}
			continue
		}
		if !c.bomChecked {
			c.bomChecked = true
			if bytes.HasPrefix(c.buf[c.start:c.end], []byte("\xef\xbb\xbf")) {
				c.BOM = true
				c.start += 3
			}
			continue
		}
		switch {
		case c.start == c.end:
			if c.readErr != nil && !errors.Is(c.readErr, io.EOF) {
				return c.fail(c.readErr)
			}
			return io.EOF
		case c.buf[c.start] == '\n':
			c.start++
			c.line++
		case c.buf[c.start] == '\r' && c.end-c.start >= 2 && c.buf[c.start+1] == '\n':
			c.start += 2
			c.line++
		case c.buf[c.start] == '\r' && c.end-c.start == 1 && c.eof:
			c.start++
		case c.buf[c.start] == ' ' || c.buf[c.start] == '\t':
			// pandas skips a line of only spaces and tabs as a blank one;
			// any other line keeps its leading white space.
			i := c.start
			for i < c.end && (c.buf[i] == ' ' || c.buf[i] == '\t') {
				i++
			}
			switch {
			case i == c.end && !c.eof:
				if err := c.fill(); err != nil {
					return c.fail(err)
				}
			case i == c.end:
				c.start = i
			case c.buf[i] == '\n':
				c.start = i + 1
				c.line++
			case c.buf[i] == '\r' && i+1 == c.end && !c.eof:
				if err := c.fill(); err != nil {
					return c.fail(err)
				}
			case c.buf[i] == '\r' && (i+1 == c.end || c.buf[i+1] == '\n'):
				c.start = min(i+2, c.end)
				c.line++
			default:
				return nil
			}
		default:
			return nil
		}
	}
}

// fill moves the unread data to the front and reads more, growing the
// buffer when one record fills it.
func (c *Stream) fill() error {
	if c.eof {
		return nil
	}
	if b := c.batch; b != nil && c.bufShared && (c.start > 0 || c.end == len(c.buf)) {
		// Records of batches point into buf: rather than move its bytes,
		// give buf to the batch being filled (checked after the others)
		// and go on in a spare one.
		b.bufs = append(b.bufs, c.buf)
		c.bufShared = false
		var nb []byte
		if k := len(c.spare); k > 0 {
			nb, c.spare = c.spare[k-1], c.spare[:k-1]
		} else {
			nb = make([]byte, len(c.buf))
		}
		c.end = copy(nb, c.buf[c.start:c.end])
		c.buf, c.start = nb, 0
	}
	if c.start > 0 {
		copy(c.buf, c.buf[c.start:c.end])
		c.end -= c.start
		c.start = 0
	}
	if c.end == len(c.buf) {
		// One record fills the buffer: before it grows, a NUL byte says
		// this is a UTF-16 or binary file (a sparse file of NULs would
		// otherwise read as a record too long).
		if i := bytes.IndexByte(c.buf[c.start:c.end], 0); i >= 0 {
			return &Error{File: c.name, Line: c.line + bytes.Count(c.buf[c.start:c.start+i], []byte{'\n'}), Fatal: true,
				Reason: "holds a NUL byte: this looks like a UTF-16 or binary file; save it as CSV UTF-8"}
		}
		if len(c.buf) >= c.maxRecord {
			return &Error{File: c.name, Line: c.line, Fatal: true, Reason: fmt.Sprintf("starts a record longer than %s: check the quoting (an unclosed \" runs to the end of the file)", sizeText(c.maxRecord))}
		}
		bigger := make([]byte, min(2*len(c.buf), c.maxRecord))
		copy(bigger, c.buf[:c.end])
		c.buf = bigger
	}
	n, err := c.r.Read(c.buf[c.end:])
	from := c.end
	c.end += n
	c.bytesRead += int64(n)
	if err != nil {
		c.eof = true
		c.readErr = err
	}
	c.loneCR(from)
	return nil
}

// loneCR turns each carriage return not followed by a line feed in the
// bytes read from from on into a line feed: the ingestor's CSV readers
// (pandas' C parser, Python's csv module) end a line at a lone CR, as old
// Mac exports write them. A CR that ends the data is left until the next
// read shows what follows it (or the end of the file). Inside a quoted
// field the CR becomes a LF: a line break either way.
func (c *Stream) loneCR(from int) {
	i := max(from-1, c.start)
	for i < c.end {
		j := bytes.IndexByte(c.buf[i:c.end], '\r')
		if j < 0 {
			return
		}
		i += j
		switch {
		case i+1 < c.end:
			if c.buf[i+1] != '\n' {
				c.buf[i] = '\n'
			}
		case c.eof:
			c.buf[i] = '\n'
		}
		i++
	}
}

// sizeText writes a record bound as the plugin writes sizes (16.0 MiB).
func sizeText(n int) string {
	if n < 1<<20 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

func (c *Stream) fail(err error) error {
	var ce *Error
	if !errors.As(err, &ce) {
		err = fmt.Errorf("reading %s: %w", c.name, err)
	}
	c.fatal = err
	return err
}

// checkText refuses a record holding a NUL byte (fatal: a UTF-16 or binary
// file) or bytes that are not UTF-8 (that record only).
func (c *Stream) checkText(raw []byte) error {
	if i := bytes.IndexByte(raw, 0); i >= 0 {
		return c.fail(&Error{File: c.name, Line: c.recLine + bytes.Count(raw[:i], []byte{'\n'}), Fatal: true,
			Reason: "holds a NUL byte: this looks like a UTF-16 or binary file; save it as CSV UTF-8"})
	}
	if utf8.Valid(raw) {
		return nil
	}
	off := 0
	for off < len(raw) {
		r, size := utf8.DecodeRune(raw[off:])
		if r == utf8.RuneError && size == 1 {
			break
		}
		off += size
	}
	return &Error{File: c.name, Line: c.recLine + bytes.Count(raw[:off], []byte{'\n'}), Reason: "is not valid UTF-8: save the file as CSV UTF-8"}
}

// Word-at-a-time constants: a byte repeated in every byte of a word.
const (
	wordOnes  = 0x0101010101010101
	wordLow7  = 0x7f7f7f7f7f7f7f7f
	wordHighs = 0x8080808080808080
)

// zeroBytes sets the high bit of each byte of x that is zero, and only
// those (no carry between bytes).
func zeroBytes(x uint64) uint64 {
	return ^((x&wordLow7 + wordLow7) | x | wordLow7)
}

// loadWord reads up to eight bytes of b as a little-endian word, padding a
// short tail with a byte that is not special.
func loadWord(b []byte) uint64 {
	if len(b) >= 8 {
		return binary.LittleEndian.Uint64(b)
	}
	w := [8]byte{'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a'}
	copy(w[:], b)
	return binary.LittleEndian.Uint64(w[:])
}

// parse splits one record at the front of data into c.fields and returns
// how many bytes it spans, its line end included. It sets c.plain when the
// record is one line of ASCII without NUL, so Read can skip checkText and
// the line count. A record splitFast cannot take goes to parseSlow, which
// copies and unescapes.
func (c *Stream) parse(data []byte) (int, error) {
	if c.forceSlow {
		return c.parseSlow(data)
	}
	fields, n, plain, slow := c.splitFast(data, c.fields[:0])
	c.fields = fields
	switch {
	case slow:
		return c.parseSlow(data)
	case n == 0:
		return 0, errNeedMore
	}
	c.plain, c.inPlace = plain, true
	return n, nil
}

// splitFast appends the fields of the record at the front of data to
// fields, as slices of data, and returns them with the record's length, its
// line end included (0: the record goes on past data). plain says the
// record is one line of ASCII without NUL. It reads eight bytes at a time
// and stops only at the bytes that matter; a quoted field is taken in place
// when it needs no unescaping. slow: the record has an escape, a "" in a
// quoted field or a misplaced quote, and needs parseSlow.
func (c *Stream) splitFast(data []byte, fields [][]byte) (out [][]byte, n int, plain, slow bool) {
	plain = true
	st := 0
	for pos := 0; pos < len(data); {
		base := pos
		w := loadWord(data[pos:])
		pos += 8
		commas := zeroBytes(w ^ (wordOnes * ','))
		// Candidates: every byte below ',' (line end, quote, NUL, but also
		// space to '+' and controls), every byte from 0x80 on, and the
		// backslash; a look at the byte sorts them out. One range test
		// costs less than a test per special byte.
		other := (^(w&wordLow7 + wordOnes*(0x80-',')) | w | zeroBytes(w^(wordOnes*'\\'))) & wordHighs &^ commas
	word:
		for {
			below := ^uint64(0)
			if other != 0 {
				below = other&-other - 1
			}
			for cs := commas & below; cs != 0; cs &= cs - 1 {
				i := base + bits.TrailingZeros64(cs)>>3
				fields = append(fields, data[st:i])
				st = i + 1
			}
			if other == 0 {
				break
			}
			commas &^= below
			i := base + bits.TrailingZeros64(other)>>3
			other &= other - 1
			switch b := data[i]; {
			case b == '\n':
				return append(fields, trimCR(data[st:i])), i + 1, plain, false
			case b == '"':
				if i != st {
					return fields, 0, false, true
				}
				end, qplain, ok := c.quotedInPlace(data, i)
				if !ok {
					return fields, 0, false, true
				}
				plain = plain && qplain
				fields = append(fields, data[i+1:end])
				switch next := end + 1; {
				case next == len(data):
					return fields, next, plain, false
				case data[next] == ',':
					st, pos = next+1, next+1
					break word
				case data[next] == '\n':
					return fields, next + 1, plain, false
				default: // "\r\n", checked by quotedInPlace
					return fields, next + 2, plain, false
				}
			case b == '\\':
				return fields, 0, false, true
			case b == 0 || b >= 0x80:
				// Read checks the record's text.
				plain = false
			}
		}
	}
	if !c.eof {
		return fields, 0, plain, false
	}
	return append(fields, trimCR(data[st:])), len(data), plain, false
}

// quotedInPlace finds the end of the quoted field opening at data[open]
// when its text can be used as it stands: no escape, no "", and the
// closing quote followed by a comma, a line end or the end of the file.
// It returns the index of the closing quote and whether the text is plain
// (one line of ASCII without NUL), or false for parseSlow to handle (it
// also reads more when the field runs past the buffer).
func (c *Stream) quotedInPlace(data []byte, open int) (end int, plain, ok bool) {
	j := bytes.IndexByte(data[open+1:], '"')
	if j < 0 {
		return 0, false, false
	}
	end = open + 1 + j
	next := end + 1
	switch {
	case next == len(data):
		if !c.eof {
			return 0, false, false
		}
	case data[next] == ',' || data[next] == '\n':
	case data[next] == '\r' && next+1 < len(data) && data[next+1] == '\n':
	default:
		return 0, false, false
	}
	plain = true
	text := data[open+1 : end]
	for len(text) > 0 {
		w := loadWord(text)
		if zeroBytes(w^(wordOnes*'\\')) != 0 {
			return 0, false, false
		}
		if zeroBytes(w^(wordOnes*'\n'))|zeroBytes(w)|w&wordHighs != 0 {
			// A line break or a byte Read must check as text.
			plain = false
		}
		text = text[min(8, len(text)):]
	}
	return end, plain, true
}

// parseSlow is the general path: it unescapes fields into c.scratch and may
// span lines. The escapes are those of the ingestor's CSV reader (pandas,
// escapechar '\\'): a backslash, in a quoted field or not, makes the next
// byte part of the field whatever it is: "a\,b" is the one field a,b, \"
// a quote, \\ a backslash, and \ before a line end continues the record
// on the next line (before CRLF it keeps the carriage return). A backslash
// at the very end of the file escapes nothing: pandas fails on it, so it
// is refused. Inside quotes "" is a quote, as RFC 4180 has it; unlike RFC
// 4180, text after the closing quote joins the field ("ab"cd is abcd). The spec the
// plugin writes never sets csv_options, so the ingestor always reads with
// these defaults (comma, double quote, backslash).
func (c *Stream) parseSlow(data []byte) (int, error) {
	c.plain = false
	c.inPlace = false
	c.scratch = c.scratch[:0]
	c.bounds = c.bounds[:0]
	pos := 0
	quoteErr := func(at int, reason string) (int, error) {
		line := c.line + bytes.Count(data[:at], []byte{'\n'})
		err := &Error{File: c.name, Line: line, Fatal: true, Reason: reason}
		c.fatal = err
		return at, err
	}
	for {
		if pos < len(data) && data[pos] == '"' {
			open := pos
			pos++
			for {
				j := c.indexQuoteOrEscape(data[pos:])
				if j < 0 {
					if !c.eof {
						return 0, errNeedMore
					}
					return quoteErr(open, "opens a quoted field that is never closed: check the \" characters from that line on")
				}
				c.scratch = append(c.scratch, data[pos:pos+j]...)
				pos += j
				if data[pos] == '\\' {
					if pos+1 == len(data) {
						if !c.eof {
							return 0, errNeedMore
						}
						return quoteErr(open, "opens a quoted field that is never closed: check the \" characters from that line on")
					}
					c.scratch = append(c.scratch, data[pos+1])
					c.escaped = true
					pos += 2
					continue
				}
				pos++
				if pos == len(data) && !c.eof {
					return 0, errNeedMore
				}
				if pos < len(data) && data[pos] == '"' {
					c.scratch = append(c.scratch, '"')
					pos++
					continue
				}
				break
			}
			switch {
			case pos == len(data):
				c.bounds = append(c.bounds, len(c.scratch))
				return c.endRecord(pos), nil
			case data[pos] == ',':
				c.bounds = append(c.bounds, len(c.scratch))
				pos++
				continue
			case data[pos] == '\n':
				c.bounds = append(c.bounds, len(c.scratch))
				return c.endRecord(pos + 1), nil
			case data[pos] == '\r' && pos+1 < len(data) && data[pos+1] == '\n':
				c.bounds = append(c.bounds, len(c.scratch))
				return c.endRecord(pos + 2), nil
			case data[pos] == '\r' && pos+1 == len(data) && !c.eof:
				return 0, errNeedMore
			}
			// Text right after the closing quote joins the field, which
			// reads on as an unquoted one ("ab"cd is abcd): pandas takes
			// that first character as it is, a \ too, and the rest with
			// its escapes.
			c.scratch = append(c.scratch, data[pos])
			pos++
		}
		// An unquoted field runs to the next comma or line end that is
		// not escaped; a " inside it is a character like any other, as
		// the ingestor's CSV reader takes it (x"y reads as x"y).
		k := pos
		for k < len(data) && data[k] != ',' && data[k] != '\n' {
			if data[k] == '\\' && !c.noEscape {
				c.escaped = true
				if k+1 == len(data) {
					if !c.eof {
						return 0, errNeedMore
					}
					return quoteErr(k, "ends the file with a \\ (the escape character), which escapes nothing: the ingestor's CSV reader fails on it; remove it, or write \\\\ for a backslash")
				}
				c.scratch = append(c.scratch, data[pos:k]...)
				c.scratch = append(c.scratch, data[k+1])
				k += 2
				pos = k
				continue
			}
			k++
		}
		if k == len(data) && !c.eof {
			return 0, errNeedMore
		}
		// Only a carriage return that is not escaped ends the line.
		tail := data[pos:k]
		if k == len(data) || data[k] == '\n' {
			tail = trimCR(tail)
		}
		c.scratch = append(c.scratch, tail...)
		c.bounds = append(c.bounds, len(c.scratch))
		if k == len(data) {
			return c.endRecord(k), nil
		}
		if data[k] == '\n' {
			return c.endRecord(k + 1), nil
		}
		pos = k + 1
	}
}

// indexQuoteOrEscape is the index of the first quote or backslash (the
// escape, unless noEscape) in b, or -1.
func (c *Stream) indexQuoteOrEscape(b []byte) int {
	q := bytes.IndexByte(b, '"')
	if c.noEscape {
		return q
	}
	if q < 0 {
		q = len(b)
	}
	if e := bytes.IndexByte(b[:q], '\\'); e >= 0 {
		return e
	}
	if q == len(b) {
		return -1
	}
	return q
}

func (c *Stream) endRecord(n int) int {
	c.fields = c.fields[:0]
	prev := 0
	for _, b := range c.bounds {
		c.fields = append(c.fields, c.scratch[prev:b:b])
		prev = b
	}
	return n
}

// trimCR drops the carriage return of a CRLF line end from the last field
// of a line: a byte compare, cheaper than a general suffix trim per record.
func trimCR(f []byte) []byte {
	if n := len(f); n > 0 && f[n-1] == '\r' {
		return f[:n-1]
	}
	return f
}
