package dataset

import (
	"errors"
	"io"
	"sync"
)

// The records of a large CSV are split on one goroutine and checked on
// another: a CSVStream fills batches of records that a csvRows hands out
// in file order. Every check stays sequential (line order, state carried
// from row to row); only the splitting runs alongside. A few batches
// rotate, so memory stays bounded whatever the file's size.
const (
	batchBytes   = 256 << 10
	batchRecords = 8 << 10
	batchFields  = 64 << 10
	batchesAhead = 3
)

// recordReader reads CSV records one at a time: a CSVStream, or a csvRows
// reading one ahead.
type recordReader interface {
	Read() ([][]byte, error)
	Line() int
}

// fieldSpan is where one field's bytes are in a batch's data (a batch
// holds far less than 2 GiB).
type fieldSpan struct{ start, end int32 }

// batchRecord is one record of a batch: its fields are
// fields[first:first+n], or err is the problem the stream returned in its
// place (io.EOF ends the batch and the file).
type batchRecord struct {
	line     int
	first, n int
	err      error
}

// csvBatch holds consecutive records copied out of a CSVStream.
type csvBatch struct {
	data    []byte
	fields  []fieldSpan
	records []batchRecord
	// last: the stream ends with this batch (end of file or a problem
	// that ends the read).
	last bool

	// The records read in place are copied out of the stream's buffer in
	// one piece, the span [spanStart, spanEnd) of it, when the buffer is
	// about to change or the batch is handed on.
	spanStart, spanEnd int
}

func (b *csvBatch) reset() {
	b.data = b.data[:0]
	b.fields = b.fields[:0]
	b.records = b.records[:0]
	b.last = false
	b.spanStart, b.spanEnd = 0, 0
}

// flush copies the pending span of buf into data; the spans of its fields
// were recorded relative to where it lands.
func (b *csvBatch) flush(buf []byte) {
	if b.spanEnd > b.spanStart {
		b.data = append(b.data, buf[b.spanStart:b.spanEnd]...)
	}
	b.spanStart, b.spanEnd = 0, 0
}

// readBatch reads the next records of c into b, up to about maxBytes of
// text or maxRecords records, or to the end of the read.
func (c *CSVStream) readBatch(b *csvBatch, maxBytes, maxRecords int) {
	b.reset()
	c.batch = b
	defer func() {
		b.flush(c.buf)
		c.batch = nil
	}()
	for len(b.records) < maxRecords && len(b.fields) < batchFields && len(b.data)+b.spanEnd-b.spanStart < maxBytes {
		fields, err := c.Read()
		if err != nil {
			b.records = append(b.records, batchRecord{line: c.line, err: err})
			var ce *CSVError
			if errors.As(err, &ce) && !ce.Fatal {
				// The stream reports a spoiled record at its own line.
				b.records[len(b.records)-1].line = ce.Line
				continue
			}
			b.last = true
			return
		}
		rec := batchRecord{line: c.recLine, first: len(b.fields), n: len(fields)}
		if c.inPlace {
			if b.spanEnd == b.spanStart {
				b.spanStart, b.spanEnd = c.recStart, c.recStart
			}
			// The span grows over the record (and any empty lines before
			// it); data gains it at the next flush, at offset len(b.data).
			base := len(b.data) - b.spanStart
			for _, f := range fields {
				at := base + cap(c.buf) - cap(f)
				b.fields = append(b.fields, fieldSpan{int32(at), int32(at + len(f))})
			}
			b.spanEnd = c.start
		} else {
			b.flush(c.buf)
			for _, f := range fields {
				b.fields = append(b.fields, fieldSpan{int32(len(b.data)), int32(len(b.data) + len(f))})
				b.data = append(b.data, f...)
			}
		}
		b.records = append(b.records, rec)
	}
}

// csvRows reads the records of a CSVStream on a goroutine of its own, a
// few batches ahead, and returns them in order with the same Read and Line
// as the stream. Call Close when done, also on an early return.
type csvRows struct {
	full chan *csvBatch
	free chan *csvBatch
	stop chan struct{}
	wg   sync.WaitGroup

	cur    *csvBatch
	next   int
	rec    [][]byte
	line   int
	ended  error
	closed bool
}

// readAhead starts reading the records of s that follow the ones already
// read. s must not be used directly until Close returns.
func readAhead(s *CSVStream) *csvRows {
	return readAheadSize(s, batchBytes, batchRecords)
}

func readAheadSize(s *CSVStream, maxBytes, maxRecords int) *csvRows {
	r := &csvRows{
		full: make(chan *csvBatch, batchesAhead),
		free: make(chan *csvBatch, batchesAhead+1),
		stop: make(chan struct{}),
	}
	for range batchesAhead + 1 {
		r.free <- &csvBatch{}
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for {
			var b *csvBatch
			select {
			case b = <-r.free:
			case <-r.stop:
				return
			}
			s.readBatch(b, maxBytes, maxRecords)
			select {
			case r.full <- b:
			case <-r.stop:
				return
			}
			if b.last {
				return
			}
		}
	}()
	return r
}

// Read returns the next record as CSVStream.Read does: the fields are
// valid until the next Read.
func (r *csvRows) Read() ([][]byte, error) {
	if r.ended != nil {
		return nil, r.ended
	}
	for r.cur == nil || r.next == len(r.cur.records) {
		if r.cur != nil {
			if r.cur.last {
				// A last batch ends in an error record; this is not reached.
				r.ended = io.EOF
				return nil, r.ended
			}
			r.free <- r.cur
		}
		r.cur, r.next = <-r.full, 0
	}
	br := &r.cur.records[r.next]
	r.next++
	r.line = br.line
	if br.err != nil {
		var ce *CSVError
		if !errors.As(br.err, &ce) || ce.Fatal {
			r.ended = br.err
		}
		return nil, br.err
	}
	r.rec = r.rec[:0]
	for _, f := range r.cur.fields[br.first : br.first+br.n] {
		r.rec = append(r.rec, r.cur.data[f.start:f.end:f.end])
	}
	return r.rec, nil
}

// Line is the line the record last returned by Read starts on.
func (r *csvRows) Line() int { return r.line }

// Close stops the reading goroutine and waits for it.
func (r *csvRows) Close() {
	if r.closed {
		return
	}
	r.closed = true
	close(r.stop)
	r.wg.Wait()
}
