package dataset

import (
	"errors"
	"io"
	"sync"

	"github.com/tracebloc/kubectl-tracebloc/pkg/csvread"
)

// The records of a large CSV are split on one goroutine and checked on
// another: a csvread.Stream fills batches of records that a csvRows hands
// out in file order. Every check stays sequential (line order, state
// carried from row to row); only the splitting runs alongside. A few
// batches rotate, so memory stays bounded whatever the file's size.
const batchesAhead = 3

// recordReader reads CSV records one at a time: a csvread.Stream, or a csvRows
// reading one ahead.
type recordReader interface {
	Read() ([][]byte, error)
	Line() int
}

// checkedBatch is a batch of records with what the cell checks said of them:
// fit[i], record i passed them all, once fitted says they ran.
type checkedBatch struct {
	*csvread.Batch
	fit    []bool
	fitted bool
}

// csvRows reads the records of a csvread.Stream on a goroutine of its own, a
// few batches ahead, and returns them in order with the same Read and Line
// as the stream. Call Close when done, also on an early return.
type csvRows struct {
	full chan *checkedBatch
	free chan *checkedBatch
	stop chan struct{}
	wg   sync.WaitGroup

	checks []colCheck
	policy int

	cur    *checkedBatch
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
	aheadBatch = [2]int{csvread.BatchBytes, csvread.BatchRecords}
)

// readAhead starts reading the records of s that follow the ones already
// read. s must not be used directly until Close returns. checks, when not
// nil, are the columns' cell checks (one per field): Fit then says which
// records pass them all.
func readAhead(s *csvread.Stream, checks []colCheck) *csvRows {
	return readAheadSize(s, aheadBatch[0], aheadBatch[1], checks)
}

func readAheadSize(s *csvread.Stream, maxBytes, maxRecords int, checks []colCheck) *csvRows {
	r := &csvRows{
		full:   make(chan *checkedBatch, batchesAhead),
		free:   make(chan *checkedBatch, batchesAhead+1),
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
			var b *checkedBatch
			select {
			case b = <-r.free:
			default:
				if made <= batchesAhead {
					made++
					b = &checkedBatch{Batch: csvread.NewBatch(maxRecords)}
					break
				}
				select {
				case b = <-r.free:
				case <-r.stop:
					return
				}
			}
			s.ReadBatch(b.Batch, maxBytes, maxRecords)
			b.fitted = false
			if checks != nil && (r.policy == aheadAlways || r.policy == aheadWhenIdle && len(r.full) >= 2) {
				fitBatch(b, checks)
			}
			select {
			case r.full <- b:
			case <-r.stop:
				return
			}
			if b.Last() {
				return
			}
		}
	}()
	return r
}

// Read returns the next record as csvread.Stream.Read does: the fields are
// valid until the next Read.
func (r *csvRows) Read() ([][]byte, error) {
	if r.ended != nil {
		return nil, r.ended
	}
	for r.cur == nil || r.next == r.cur.Len() {
		if r.cur != nil {
			if r.cur.Last() {
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
	fields, line, err := r.cur.Record(r.next)
	r.fit = r.cur.fitted && r.cur.fit[r.next]
	r.next++
	r.line = line
	if err != nil {
		var ce *csvread.Error
		if !errors.As(err, &ce) || ce.Fatal {
			r.ended = err
		}
		return nil, err
	}
	return fields, nil
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
