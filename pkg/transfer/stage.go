package transfer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"strings"
	"sync"
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
// verify every file and swap the new copy in. Each round is one exec: the
// script prints its inventory, the client answers with the stream.
func Stage(ctx context.Context, o Options) (*Result, error) {
	res := &Result{Files: len(o.Files)}
	planOf := func(out string) (Plan, error) {
		inv, err := ParseInventory(out)
		if err != nil {
			return Plan{}, exitcode.Wrap(exitcode.Staging, err)
		}
		plan := MakePlan(o.Files, o.Sums, inv)
		res.Reused, res.Resumed = len(plan.Reuse), plan.Resumed
		if o.OnPlan != nil {
			o.OnPlan(plan)
		}
		return plan, nil
	}
	for round := 1; ; round++ {
		res.Rounds = round
		out, plan, err := session(ctx, o, round > 1, planOf)
		if plan == nil {
			return nil, remoteError("reading the staged copy", err)
		}
		res.SentFiles += len(plan.Send)
		res.SentBytes += plan.SendBytes
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
		next := replan(o.Files, o.Sums, actual)
		planOf = func(string) (Plan, error) { return next, nil }
	}
}

// session runs one round: the inventory comes back on stdout, planOf turns
// it into the plan, and the stream follows on stdin. The plan is nil when
// the round ended before one was made. With resend the Pod skips the
// inventory (the plan is known).
func session(ctx context.Context, o Options, resend bool, planOf func(inventory string) (Plan, error)) (string, *Plan, error) {
	pr, pw := io.Pipe()
	var last atomic.Int64
	// The stall clock starts with the stream: an inventory may take long.
	last.Store(math.MaxInt64)
	progress := func(n int64) {
		last.Store(time.Now().UnixNano())
		if o.Progress != nil {
			o.Progress(n)
		}
	}
	stdout := newSplitOutput()
	// Ctrl-C does not cut the stream: the writer ends it at a file boundary,
	// so what is in flight still lands. A stream that does not drain within
	// DrainTimeout is cut all the same; before the stream, it is cut at once.
	hctx, hardStop := context.WithCancel(context.WithoutCancel(ctx))
	defer hardStop()
	ended := make(chan struct{})
	done := make(chan error, 1)
	var planned *Plan
	go func() {
		var err error
		select {
		case inv := <-stdout.inventory:
			var plan Plan
			if plan, err = planOf(inv); err != nil {
				hardStop()
				break
			}
			planned = &plan
			last.Store(time.Now().UnixNano())
			src := &tarSource{root: o.Root, plan: plan.entries(), files: plan.Send, sums: o.Sums, maxBytes: o.MaxFileBytes, progress: progress, stop: ctx.Done()}
			// Big writes keep the exec stream's frames full.
			bw := bufio.NewWriterSize(pw, 256<<10)
			if err = src.writeTo(bw); err == nil {
				err = bw.Flush()
			}
		case <-ctx.Done():
			err = ctx.Err()
			hardStop()
		case <-ended:
			err = errors.New("the stage pod ended before its inventory")
		}
		pw.CloseWithError(err)
		done <- err
	}()
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
	var args []string
	if resend {
		args = []string{"resend"}
	}
	sctx, stop := watchStall(hctx, &last, o.StallTimeout, done)
	err := run(sctx, o.Runner, stageScript, o.Table, args, pr, stdout)
	close(ended)
	stop()
	close(finished)
	// Unblock the writer if the Pod stopped reading early.
	pr.CloseWithError(errors.New("the stage pod stopped reading"))
	werr := <-done
	out := stdout.rest()
	if ctx.Err() != nil {
		if err == nil && werr == nil && strings.Contains(out, "SWAPPED") {
			// Ctrl-C came after the last byte and the swap went through:
			// the push is complete, and says so.
			return out, planned, nil
		}
		return out, planned, ctx.Err()
	}
	if werr != nil && exitcode.Of(werr) != exitcode.Unexpected {
		return out, planned, werr
	}
	if cause := context.Cause(sctx); err != nil && errors.Is(cause, errStalled) {
		return out, planned, exitcode.Wrap(exitcode.Staging, &StreamError{Err: cause})
	}
	return out, planned, err
}

// splitOutput hands the script's stdout up to the inventory's end line to
// the stream writer, and keeps the rest (the verification's report).
type splitOutput struct {
	mu        sync.Mutex
	head      bytes.Buffer
	scanned   int
	tail      bytes.Buffer
	found     bool
	inventory chan string
}

func newSplitOutput() *splitOutput { return &splitOutput{inventory: make(chan string, 1)} }

func (s *splitOutput) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.found {
		return s.tail.Write(p)
	}
	s.head.Write(p)
	b := s.head.Bytes()
	end := []byte(inventoryEnd + "\n")
	from := max(0, s.scanned-len(end))
	for {
		i := bytes.Index(b[from:], end)
		if i < 0 {
			break
		}
		i += from
		if i == 0 || b[i-1] == '\n' {
			s.found = true
			s.tail.Write(b[i+len(end):])
			s.inventory <- string(b[:i])
			break
		}
		from = i + 1
	}
	s.scanned = len(b)
	return len(p), nil
}

func (s *splitOutput) rest() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tail.String()
}
