package transfer

import (
	"bufio"
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// Options describe one staging run.
type Options struct {
	Root  string
	Files []dataset.File
	// Sums are the local SHA-256 of every file.
	Sums         Sums
	Table        string
	MaxFileBytes int64
	Runner       Runner
	// OnPlan is called once the first plan is known, with the bytes to send.
	OnPlan func(Plan)
	// Progress is called with each chunk of file data sent.
	Progress func(n int64)
	// StallTimeout ends a stream that has sent nothing for this long, so a
	// dead connection never hangs the push; zero means DefaultStallTimeout.
	StallTimeout time.Duration
}

// DrainTimeout bounds how long an interrupted stream may take to deliver
// what is already in flight.
const DrainTimeout = 10 * time.Second

// DefaultStallTimeout is how long a stream may send nothing before it counts
// as broken.
const DefaultStallTimeout = 60 * time.Second

// StreamError is a broken exec stream: the connection, the apiserver or the
// Pod went away, or nothing moved for too long. What was sent stays in the
// partial copy, so a retry resumes.
type StreamError struct{ Err error }

func (e *StreamError) Error() string { return "the stream to the stage pod broke: " + e.Err.Error() }

func (e *StreamError) Unwrap() error { return e.Err }

// Result is what landed.
type Result struct {
	Files     int   `json:"files"`
	SentFiles int   `json:"sent_files"`
	SentBytes int64 `json:"sent_bytes"`
	Reused    int   `json:"reused_files"`
	Resumed   int   `json:"resumed_files"`
	Verified  int   `json:"verified_files"`
	Rounds    int   `json:"rounds"`
}

// maxRounds bounds the re-sends after a verification mismatch.
const maxRounds = 2

// Stage learns what the volume holds, streams what is missing, has the Pod
// verify every file and swap the new copy in.
func Stage(ctx context.Context, o Options) (*Result, error) {
	out, err := run(ctx, o.Runner, inventoryScript, o.Table, nil)
	if err != nil {
		return nil, remoteError("reading the staged copy", err)
	}
	inv, err := ParseInventory(out)
	if err != nil {
		return nil, exitcode.Wrap(exitcode.Staging, err)
	}
	plan := MakePlan(o.Files, o.Sums, inv)
	if o.OnPlan != nil {
		o.OnPlan(plan)
	}
	res := &Result{Files: len(o.Files), Reused: len(plan.Reuse), Resumed: plan.Resumed}
	for round := 1; ; round++ {
		res.Rounds = round
		res.SentFiles += len(plan.Send)
		res.SentBytes += plan.SendBytes
		out, err := apply(ctx, o, plan)
		if err == nil {
			if !strings.Contains(out, "SWAPPED") {
				return nil, exitcode.Errorf(exitcode.Staging, "the stage pod ended without confirming the swap: the staged copy may be old or new, push again")
			}
			res.Verified = len(o.Files)
			return res, nil
		}
		if exitOf(err) != codeMismatch || round == maxRounds {
			return nil, remoteError("staging", err)
		}
		actual, perr := parseActual(out)
		if perr != nil {
			return nil, exitcode.Wrap(exitcode.Staging, perr)
		}
		plan = replan(o.Files, o.Sums, actual)
	}
}

func apply(ctx context.Context, o Options, plan Plan) (string, error) {
	pr, pw := io.Pipe()
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	progress := func(n int64) {
		last.Store(time.Now().UnixNano())
		if o.Progress != nil {
			o.Progress(n)
		}
	}
	src := &tarSource{root: o.Root, plan: plan.entries(), files: plan.Send, sums: o.Sums, maxBytes: o.MaxFileBytes, progress: progress, stop: ctx.Done()}
	done := make(chan error, 1)
	go func() {
		// Big writes keep the exec stream's frames full.
		bw := bufio.NewWriterSize(pw, 256<<10)
		err := src.writeTo(bw)
		if err == nil {
			err = bw.Flush()
		}
		pw.CloseWithError(err)
		done <- err
	}()
	// Ctrl-C does not cut the stream: the writer ends it at a file boundary,
	// so what is in flight still lands. A stream that does not drain within
	// DrainTimeout is cut all the same.
	hctx, hardStop := context.WithCancel(context.WithoutCancel(ctx))
	defer hardStop()
	finished := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			select {
			case <-time.After(DrainTimeout):
				hardStop()
			case <-finished:
			}
		case <-finished:
		}
	}()
	sctx, stop := watchStall(hctx, &last, o.StallTimeout, done)
	out, err := run(sctx, o.Runner, applyScript, o.Table, pr)
	stop()
	close(finished)
	if ctx.Err() != nil {
		werr := <-done
		if err == nil && werr == nil && strings.Contains(out, "SWAPPED") {
			// Ctrl-C came after the last byte and the swap went through:
			// the push is complete, and says so.
			return out, nil
		}
		return out, ctx.Err()
	}
	// Unblock the writer if the Pod stopped reading early.
	pr.CloseWithError(errors.New("the stage pod stopped reading"))
	if werr := <-done; werr != nil && exitcode.Of(werr) != exitcode.Unexpected {
		return out, werr
	}
	if cause := context.Cause(sctx); err != nil && ctx.Err() == nil && errors.Is(cause, errStalled) {
		return out, exitcode.Wrap(exitcode.Staging, &StreamError{Err: cause})
	}
	return out, err
}
