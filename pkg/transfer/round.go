package transfer

import (
	"bufio"
	"context"
	"errors"
	"io"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/transfer/codec"
)

// outcome is what one round learned.
type outcome struct {
	plan       *Plan
	wire       int64
	compressed bool
	codecs     map[string]int64
	verified   int
	swapped    bool
	agentPeak  int64
	// actual are the hashes a mismatch reported (nil: no mismatch).
	actual *sumTable
	// seal names the staged copy's manifest after the swap; kept: the
	// agent kept the staged copy in place.
	seal string
	kept bool
}

// round is one exec of the stage agent: the inventory comes back as the
// agent's first message, planOf turns it into the plan, and the stream
// follows on stdin. Once the agent has verified the copy, BeforeSwap
// decides whether the commit line is sent. With resend the agent skips the
// inventory.
//
// Three workers share it: writeStream (the stdin side), the agent's
// messages (onMessage, called by the exec's reader) and drain (the
// Ctrl-C clock). The channels are the hand-offs between them; out is
// written under mu.
type round struct {
	o      Options
	resend bool
	planOf func(proto.Message, Inventory) (Plan, error)
	root   *localRoot
	// The sum fields of the agent's messages arrive entry by entry, before
	// their message (onSums), under mu.
	staged, partial, actual *sumTable

	pr *io.PipeReader
	pw *io.PipeWriter
	// last is when a byte last moved (UnixNano); math.MaxInt64 stops the
	// stall clock (before the stream, and once it is out).
	last atomic.Int64
	// hctx ends only by hardStop: the stream is not cut by Ctrl-C itself
	// (the writer ends it at a file boundary), only when it does not drain
	// within DrainTimeout, or at once before it began.
	hctx     context.Context
	hardStop context.CancelFunc

	inventory chan proto.Message
	verified  chan struct{}
	// ended closes when the exec returned; finished once the round is
	// being wound up (the drain clock stops).
	ended    chan struct{}
	finished chan struct{}
	// done holds the writer's error once it returned: the stall clock
	// stops looking then.
	done chan error

	mu  sync.Mutex
	out outcome
}

// wire is the stdin side of a round: the byte count under the bandwidth
// cap, the buffer, and the compressing writer when the round compresses.
type wire struct {
	counter *countingWriter
	bw      *bufio.Writer
	enc     *codec.Writer
	// w is where the tar goes: enc, or bw.
	w io.Writer
}

// runRound runs one round.
func runRound(ctx context.Context, o Options, resend bool, planOf func(proto.Message, Inventory) (Plan, error)) (outcome, error) {
	root, err := openLocalRoot(o.Root)
	if err != nil {
		return outcome{}, exitcode.Wrap(exitcode.Local, err)
	}
	defer root.close()
	r := &round{o: o, resend: resend, planOf: planOf, root: root, inventory: make(chan proto.Message, 1), verified: make(chan struct{}, 1),
		ended: make(chan struct{}), finished: make(chan struct{}), done: make(chan error, 1),
		staged: &sumTable{}, partial: &sumTable{}, actual: &sumTable{}}
	r.pr, r.pw = io.Pipe()
	// The stall clock starts with the stream: an inventory may take long.
	r.last.Store(math.MaxInt64)
	r.hctx, r.hardStop = context.WithCancel(context.WithoutCancel(ctx))
	defer r.hardStop()
	return r.run(ctx)
}

// run starts the writer and the drain clock, runs the agent, and winds
// the round up. A plain errgroup.Group, not WithContext: the writer's
// failure must not start the drain clock (that is Ctrl-C's alone), and the
// exec ends the round, not the first error.
func (r *round) run(ctx context.Context) (outcome, error) {
	var g errgroup.Group
	g.Go(func() error { return r.writeStream(ctx) })
	g.Go(func() error { r.drain(ctx); return nil })
	args := []string{proto.CmdStage, "--table", r.o.Table, "--nonce", r.o.Nonce, "--chunk-min", strconv.FormatInt(ChunkMin(), 10)}
	args = append(args, knownArgs(r.o.Root, r.o.Files, r.o.Local, ChunkMin())...)
	if r.resend {
		args = append(args, "--resend")
	} else if u := r.o.Unchanged; u != nil {
		args = append(args, "--sealed", u.seal, "--sealed-files", strconv.Itoa(len(r.o.Files)))
	}
	// The agent has given up: end the stream, so nothing waits on data it
	// will never read.
	onFail := func() { r.pr.CloseWithError(errors.New("the stage agent stopped reading")) }
	sctx, stop := watchStall(r.hctx, &r.last, r.o.StallTimeout, r.done)
	err := r.o.Agent.RunSums(sctx, args, r.pr, r.onMessage, r.onSums, onFail)
	close(r.ended)
	stop()
	close(r.finished)
	// Unblock the writer if the agent stopped reading early.
	r.pr.CloseWithError(errors.New("the stage agent stopped reading"))
	werr := g.Wait()
	return r.result(ctx, sctx, err, werr)
}

// progress counts n bytes of files sent: movement for the stall clock.
func (r *round) progress(n int64) {
	r.last.Store(time.Now().UnixNano())
	if r.o.Progress != nil {
		r.o.Progress(n)
	}
}

// writeStream is the stdin side: plan, tar, codec flush, wait for the
// agent's verification, BeforeSwap, commit. Its error closes the pipe
// (the agent reads it as the stream's end) and stops the stall clock.
func (r *round) writeStream(ctx context.Context) (err error) {
	defer func() {
		r.pw.CloseWithError(err)
		r.done <- err
	}()
	plan, err := r.awaitPlan(ctx)
	if err != nil {
		return err
	}
	w, err := r.openWire(plan)
	if err != nil {
		return err
	}
	defer r.closeWire(w)
	if err := r.sendFiles(ctx, plan, w); err != nil {
		return err
	}
	// The stream is out: the silence that follows is the agent hashing
	// what it has not hashed yet, not a dead connection.
	r.last.Store(math.MaxInt64)
	// The agent verifies, then waits for the word.
	select {
	case <-r.verified:
	case <-ctx.Done():
		return nil
	case <-r.ended:
		return nil
	}
	if r.o.BeforeSwap != nil {
		if err := r.o.BeforeSwap(ctx); err != nil {
			return err
		}
	}
	return r.commit(w)
}

// awaitPlan waits for the agent's inventory and plans from it. Ctrl-C or
// a bad plan before the stream cuts the exec at once.
func (r *round) awaitPlan(ctx context.Context) (Plan, error) {
	var inv proto.Message
	select {
	case inv = <-r.inventory:
	case <-ctx.Done():
		r.hardStop()
		return Plan{}, ctx.Err()
	case <-r.ended:
		return Plan{}, errors.New("the stage agent ended before its inventory")
	}
	r.mu.Lock()
	vol := Inventory{Staged: r.staged, Partial: r.partial}
	r.mu.Unlock()
	plan, err := r.planOf(inv, vol)
	if err != nil {
		r.hardStop()
		return Plan{}, err
	}
	r.mu.Lock()
	r.out.plan = &plan
	r.mu.Unlock()
	r.last.Store(time.Now().UnixNano())
	return plan, nil
}

// openWire builds the stdin side for plan: compressed when --compress
// says so or (auto) the files sampled compress.
func (r *round) openWire(plan Plan) (*wire, error) {
	// Big writes keep the exec stream's frames full. What the link takes
	// keeps the stall clock going, not only the files read. The cap sits
	// below the count and above the stall clock: the clock sees each
	// burst-sized piece move.
	w := &wire{counter: &countingWriter{w: newLimitedWriter(r.hctx, movingWriter{w: r.pw, last: &r.last}, r.o.BWLimit)}}
	w.bw = bufio.NewWriterSize(w.counter, 256<<10)
	w.w = w.bw
	compress := r.o.Compress == CompressAlways
	if r.o.Compress == CompressAuto || r.o.Compress == "" {
		compress, _ = compressible(r.root, plan.Send)
	}
	if !compress {
		return w, nil
	}
	z, err := codec.NewWriter(w.counter, len(plan.Send))
	if err != nil {
		return nil, err
	}
	w.enc, w.w = z, z
	r.mu.Lock()
	r.out.compressed = true
	r.mu.Unlock()
	return w, nil
}

// closeWire records what went over the wire. The compressing writer stops
// before the count is read: its sender writes to the counter.
func (r *round) closeWire(w *wire) {
	if w.enc != nil {
		w.enc.Stop()
		r.mu.Lock()
		r.out.codecs = w.enc.Codecs()
		r.mu.Unlock()
	}
	r.mu.Lock()
	r.out.wire = w.counter.n
	r.mu.Unlock()
}

// sendFiles writes the tar of the plan's files and flushes it out.
func (r *round) sendFiles(ctx context.Context, plan Plan, w *wire) error {
	src := &tarSource{root: r.root, plan: plan, files: plan.Send, local: r.o.Local, progress: r.progress, stop: ctx.Done()}
	err := src.writeTo(w.w)
	if err != nil && !errors.Is(err, errStopped) {
		return err
	}
	// Stopped inside a file, what was written still goes out (the
	// compressor holds the last of it): the agent keeps it for the next
	// push, then finds the stream cut.
	if w.enc != nil {
		if err := w.enc.Flush(); err != nil {
			return err
		}
	}
	if ferr := w.bw.Flush(); ferr != nil {
		return ferr
	}
	return err
}

// commit sends the word that lets the agent swap the verified copy in.
func (r *round) commit(w *wire) error {
	if _, err := io.WriteString(w.w, proto.Commit+"\n"); err != nil {
		return err
	}
	if w.enc != nil {
		if err := w.enc.Close(); err != nil {
			return err
		}
	}
	return w.bw.Flush()
}

// drain is the Ctrl-C clock: a stream that does not end within
// DrainTimeout of Ctrl-C is cut.
func (r *round) drain(ctx context.Context) {
	select {
	case <-ctx.Done():
		select {
		case <-time.After(DrainTimeout):
			r.hardStop()
		case <-r.finished:
		}
	case <-r.finished:
	}
}

// onMessage takes the agent's messages as they come.
func (r *round) onMessage(m proto.Message) {
	switch m.T {
	case proto.MsgInventory:
		select {
		case r.inventory <- m:
		default:
		}
	case proto.MsgVerified:
		r.mu.Lock()
		r.out.verified = m.Files
		r.mu.Unlock()
		select {
		case r.verified <- struct{}{}:
		default: // a second word changes nothing
		}
	case proto.MsgSwapped:
		r.mu.Lock()
		r.out.swapped = true
		r.out.agentPeak = m.PeakRSS
		r.out.seal, r.out.kept = m.Seal, m.Kept
		r.mu.Unlock()
	case proto.MsgMismatch:
		r.mu.Lock()
		r.out.actual = r.actual
		r.mu.Unlock()
	}
}

// onSums takes one entry of a sum field of the agent's next message.
func (r *round) onSums(field, rel, sum string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch field {
	case "staged":
		r.staged.add(rel, sum)
	case "partial":
		r.partial.add(rel, sum)
	case "actual":
		r.actual.add(rel, sum)
	}
}

// result is the round's outcome and its one error, from the exec's error
// (execErr) and the writer's (writeErr).
func (r *round) result(ctx, sctx context.Context, execErr, writeErr error) (outcome, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.out
	if ctx.Err() != nil {
		if execErr == nil && out.swapped {
			// Ctrl-C came after the commit and the swap went through: the
			// push is complete, and says so.
			return out, nil
		}
		return out, ctx.Err()
	}
	if writeErr != nil && exitcode.Of(writeErr) != exitcode.Unexpected {
		return out, writeErr
	}
	if cause := context.Cause(sctx); execErr != nil && errors.Is(cause, errStalled) {
		return out, exitcode.Wrap(exitcode.Staging, &StreamError{Err: cause})
	}
	if execErr == nil && writeErr != nil {
		return out, writeErr
	}
	return out, execErr
}
