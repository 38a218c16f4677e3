package csvread

import "errors"

// Batch sizes: a batch holds about BatchBytes of text or BatchRecords
// records, whichever comes first, and never more than batchFields fields.
// A few batches in flight keep memory bounded whatever the file's size.
const (
	BatchBytes   = 256 << 10
	BatchRecords = 8 << 10
	batchFields  = 64 << 10
)

// batchRecord is one record of a batch: its fields are
// slices[first:first+n]; n < 0 stands for the problem errs[first] that the
// stream returned in its place. Kept small: a batch holds thousands.
type batchRecord struct {
	line     int
	first, n int32
}

// Batch holds consecutive records of a Stream, read by ReadBatch, so that
// one goroutine can split records while another checks them. The fields of
// records read in place are slices of the stream's buffers, which the batch
// keeps until the next ReadBatch into it; other fields are copied into data.
type Batch struct {
	slices  [][]byte
	records []batchRecord
	errs    []error
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

// NewBatch makes a batch with room for maxRecords records at the start: a
// batch grown by appends would leave garbage enough to keep the collector
// busy when a few of them rotate.
func NewBatch(maxRecords int) *Batch {
	return &Batch{slices: make([][]byte, 0, min(batchFields, 8*maxRecords)), records: make([]batchRecord, 0, min(BatchRecords, maxRecords))}
}

// Len is the number of records in the batch, problems included.
func (b *Batch) Len() int { return len(b.records) }

// Record returns record i as Stream.Read returned it (its fields or its
// problem) with the line it starts on.
func (b *Batch) Record(i int) (fields [][]byte, line int, err error) {
	br := b.records[i]
	if br.n < 0 {
		return nil, br.line, b.errs[br.first]
	}
	end := br.first + br.n
	return b.slices[br.first:end:end], br.line, nil
}

// NumFields is the number of fields of record i, -1 for a problem.
func (b *Batch) NumFields(i int) int { return int(b.records[i].n) }

// Field is field j of record i, which must have more than j fields: the
// column-at-a-time checks read it without making a record's slice.
func (b *Batch) Field(i, j int) []byte { return b.slices[int(b.records[i].first)+j] }

// Last says the stream ends with this batch: at the end of the file, or
// at a problem that ends the read (its last record).
func (b *Batch) Last() bool { return b.last }

// ReadBatch reads the next records of c into b, up to about maxBytes of
// text or maxRecords records, or to the end of the read. The buffers b
// held go back to the stream first: the records read into b before are
// no longer valid.
func (c *Stream) ReadBatch(b *Batch, maxBytes, maxRecords int) {
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
			var ce *Error
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
func (c *Stream) readRun(b *Batch, full func() bool) int {
	if c.fatal != nil || !c.bomChecked || c.forceSlow || len(c.buf) != c.baseBuf {
		return 0
	}
	taken := 0
	for !full() {
		data := c.buf[c.start:c.end]
		// A line that may be blank (empty, or white space only) goes
		// through Read, which skips it.
		if len(data) == 0 || data[0] == '\n' || data[0] == '\r' || data[0] == ' ' || data[0] == '\t' {
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
