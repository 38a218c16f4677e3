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

// batchRecord is one record of a batch: its fields are
// slices[first:first+n]; n < 0 stands for the problem errs[first] that the
// stream returned in its place (io.EOF ends the batch and the file). Kept
// small: a batch holds thousands.
type batchRecord struct {
	line     int
	first, n int32
}

// csvBatch holds consecutive records of a CSVStream. The fields of records
// read in place are slices of the stream's buffers, which the batch keeps
// (bufs) until it has been checked; other fields are copied into data.
type csvBatch struct {
	slices  [][]byte
	records []batchRecord
	errs    []error
	// fit[i]: record i passed the cell checks, once fitted says they ran.
	fit    []bool
	fitted bool
	// last: the stream ends with this batch (end of file or a problem
	// that ends the read).
	last bool

	bufs   [][]byte
	data   []byte
	copied []copiedField
}

// copiedField is a field copied into data: its slice is made once data
// has stopped growing.
type copiedField struct{ slice, start, end int }

// readBatch reads the next records of c into b, up to about maxBytes of
// text or maxRecords records, or to the end of the read. The buffers of a
// batch already checked go back to the stream first.
func (c *CSVStream) readBatch(b *csvBatch, maxBytes, maxRecords int) {
	for _, buf := range b.bufs {
		if len(buf) == c.baseBuf {
			c.spare = append(c.spare, buf)
		}
	}
	clear(b.bufs)
	b.bufs = b.bufs[:0]
	b.slices = b.slices[:0]
	b.records = b.records[:0]
	clear(b.errs)
	b.errs = b.errs[:0]
	b.fitted = false
	b.data = b.data[:0]
	b.copied = b.copied[:0]
	b.last = false
	// Only buffers of the first size are shared: after a huge record the
	// grown buffer is copied from instead, so that a few batches in
	// flight never pin several grown buffers.
	if c.baseBuf == 0 {
		c.baseBuf = len(c.buf)
	}
	c.batch = b
	defer func() {
		c.batch = nil
		for _, f := range b.copied {
			b.slices[f.slice] = b.data[f.start:f.end:f.end]
		}
	}()
	size := 0
	full := func() bool { return len(b.records) >= maxRecords || len(b.slices) >= batchFields || size >= maxBytes }
	for {
		if full() {
			return
		}
		size += c.readRun(b, full)
		if full() {
			return
		}
		fields, err := c.Read()
		if err != nil {
			b.records = append(b.records, batchRecord{line: c.line, first: int32(len(b.errs)), n: -1})
			b.errs = append(b.errs, err)
			var ce *CSVError
			if errors.As(err, &ce) && !ce.Fatal {
				// The stream reports a spoiled record at its own line.
				b.records[len(b.records)-1].line = ce.Line
				continue
			}
			b.last = true
			return
		}
		b.records = append(b.records, batchRecord{line: c.recLine, first: int32(len(b.slices)), n: int32(len(fields))})
		size += c.start - c.recStart
		if c.inPlace && len(c.buf) == c.baseBuf {
			c.bufShared = true
			b.slices = append(b.slices, fields...)
			continue
		}
		for _, f := range fields {
			b.copied = append(b.copied, copiedField{len(b.slices), len(b.data), len(b.data) + len(f)})
			b.slices = append(b.slices, nil)
			b.data = append(b.data, f...)
		}
	}
}

// readRun takes the plain records at the front of the buffer straight into
// b, without the checks Read makes per record, until full says the batch is
// full or a record needs more: an empty line, a record that is not plain
// ASCII or needs unescaping, one that runs past the buffer. Read takes
// that one. It returns the bytes taken.
func (c *CSVStream) readRun(b *csvBatch, full func() bool) int {
	if c.fatal != nil || !c.bomChecked || c.forceSlow || len(c.buf) != c.baseBuf {
		return 0
	}
	taken := 0
	for !full() {
		data := c.buf[c.start:c.end]
		if len(data) == 0 || data[0] == '\n' || data[0] == '\r' {
			break
		}
		first := len(b.slices)
		slices, n, plain, slow := c.splitFast(data, b.slices)
		if n == 0 || !plain || slow {
			b.slices = slices[:first]
			break
		}
		b.slices = slices
		b.records = append(b.records, batchRecord{line: c.line, first: int32(first), n: int32(len(slices) - first)})
		c.line++
		c.start += n
		taken += n
		c.bufShared = true
	}
	return taken
}

// csvRows reads the records of a CSVStream on a goroutine of its own, a
// few batches ahead, and returns them in order with the same Read and Line
// as the stream. Call Close when done, also on an early return.
type csvRows struct {
	full chan *csvBatch
	free chan *csvBatch
	stop chan struct{}
	wg   sync.WaitGroup

	checks []colCheck
	policy int

	cur    *csvBatch
	next   int
	line   int
	fit    bool
	ended  error
	closed bool
}

// The cell checks of a batch (fitBatch) run on the reading goroutine when
// it is ahead of the checking one (batches wait), else on the checking one
// as it takes the batch: the work goes to whichever side has time. Tests
// force the other policies.
const (
	aheadWhenIdle = iota // either side, as above
	aheadAlways          // always the reading goroutine
	aheadHere            // always the checking goroutine
	aheadNever           // neither: the caller checks every cell itself
)

// checkAhead is the policy of every csvRows, and aheadBatch the size of
// their batches (bytes, records); tests change them.
var (
	checkAhead = aheadWhenIdle
	aheadBatch = [2]int{batchBytes, batchRecords}
)

// readAhead starts reading the records of s that follow the ones already
// read. s must not be used directly until Close returns. checks, when not
// nil, are the columns' cell checks (one per field): Fit then says which
// records pass them all.
func readAhead(s *CSVStream, checks []colCheck) *csvRows {
	return readAheadSize(s, aheadBatch[0], aheadBatch[1], checks)
}

func readAheadSize(s *CSVStream, maxBytes, maxRecords int, checks []colCheck) *csvRows {
	r := &csvRows{
		full:   make(chan *csvBatch, batchesAhead),
		free:   make(chan *csvBatch, batchesAhead+1),
		stop:   make(chan struct{}),
		checks: checks,
		policy: checkAhead,
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		made := 0
		for {
			// A batch is made at full size, as it is first needed (a small
			// CSV makes one): grown by appends, a few batches would leave
			// garbage enough to keep the collector busy.
			var b *csvBatch
			select {
			case b = <-r.free:
			default:
				if made <= batchesAhead {
					made++
					b = &csvBatch{slices: make([][]byte, 0, min(batchFields, 8*maxRecords)), records: make([]batchRecord, 0, min(batchRecords, maxRecords))}
					break
				}
				select {
				case b = <-r.free:
				case <-r.stop:
					return
				}
			}
			s.readBatch(b, maxBytes, maxRecords)
			if checks != nil && (r.policy == aheadAlways || r.policy == aheadWhenIdle && len(r.full) >= 2) {
				fitBatch(b, checks)
			}
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
		if r.checks != nil && !r.cur.fitted && r.policy != aheadNever {
			fitBatch(r.cur, r.checks)
		}
	}
	br := r.cur.records[r.next]
	r.fit = r.cur.fitted && r.cur.fit[r.next]
	r.next++
	r.line = br.line
	if br.n < 0 {
		err := r.cur.errs[br.first]
		var ce *CSVError
		if !errors.As(err, &ce) || ce.Fatal {
			r.ended = err
		}
		return nil, err
	}
	end := br.first + br.n
	return r.cur.slices[br.first:end:end], nil
}

// Line is the line the record last returned by Read starts on.
func (r *csvRows) Line() int { return r.line }

// Fit says the record last returned by Read passed the cell checks
// already; false: they were not run, or it failed them.
func (r *csvRows) Fit() bool { return r.fit }

// Close stops the reading goroutine and waits for it.
func (r *csvRows) Close() {
	if r.closed {
		return
	}
	r.closed = true
	close(r.stop)
	r.wg.Wait()
}
