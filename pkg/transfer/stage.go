package transfer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	utilexec "k8s.io/client-go/util/exec"

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

var errStalled = errors.New("nothing was sent for too long")

// watchStall cancels the stream when no byte has moved for timeout while
// there was still data to send. Once the writer is done, the Pod is
// verifying, and its own deadline bounds that.
func watchStall(ctx context.Context, last *atomic.Int64, timeout time.Duration, writerDone <-chan error) (context.Context, func()) {
	if timeout <= 0 {
		timeout = DefaultStallTimeout
	}
	sctx, cancel := context.WithCancelCause(ctx)
	quit := make(chan struct{})
	go func() {
		tick := time.NewTicker(timeout / 10)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tick.C:
				if len(writerDone) > 0 {
					return
				}
				if time.Since(time.Unix(0, last.Load())) > timeout {
					cancel(fmt.Errorf("%w (%s)", errStalled, timeout))
					return
				}
			}
		}
	}()
	return sctx, func() { close(quit); cancel(nil) }
}

// remoteFailure carries the Pod's stderr with the exec error.
type remoteFailure struct {
	err    error
	stderr string
}

func (r *remoteFailure) Error() string {
	if r.stderr == "" {
		return r.err.Error()
	}
	return r.stderr
}

func (r *remoteFailure) Unwrap() error { return r.err }

func run(ctx context.Context, r Runner, script, table string, stdin io.Reader) (string, error) {
	var stdout, stderr bytes.Buffer
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	watch := &exitWatcher{buf: &limitedBuffer{buf: &stderr, max: 16 << 10}, onExit: cancel}
	err := r.Run(rctx, []string{"sh", "-c", script, "tracebloc-stage", table}, stdin, &stdout, watch)
	msg := strings.TrimSpace(strings.Replace(stderr.String(), fmt.Sprintf("%s %d", exitMarker, watch.code), "", 1))
	if code := watch.exited(); code != 0 && ctx.Err() == nil {
		return stdout.String(), &remoteFailure{err: utilexec.CodeExitError{Err: fmt.Errorf("exit %d", code), Code: code}, stderr: msg}
	}
	if err != nil {
		return stdout.String(), &remoteFailure{err: err, stderr: msg}
	}
	return stdout.String(), nil
}

// exitMarker opens the line a failing script writes on stderr with its exit
// code, before it drains stdin.
const exitMarker = "tracebloc-exit"

// exitWatcher passes stderr on and ends the stream as soon as the script
// reports its exit code: the client then stops sending.
type exitWatcher struct {
	mu     sync.Mutex
	buf    io.Writer
	line   []byte
	code   int
	onExit func()
}

func (w *exitWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, b := range p {
		if b != '\n' {
			w.line = append(w.line, b)
			continue
		}
		var code int
		if _, err := fmt.Sscanf(string(w.line), exitMarker+" %d", &code); err == nil && code != 0 && w.code == 0 {
			w.code = code
			w.onExit()
		}
		w.line = w.line[:0]
	}
	return w.buf.Write(p)
}

func (w *exitWatcher) exited() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.code
}

func exitOf(err error) int {
	var ee utilexec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitStatus()
	}
	return -1
}

func remoteError(doing string, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	var coded *exitcode.Error
	if errors.As(err, &coded) {
		return err
	}
	// No exit status (the connection broke) or death by a signal (the Pod
	// was deleted or its container killed): a retry may succeed.
	if code := exitOf(err); code < 0 || code > 128 {
		return exitcode.Wrap(exitcode.Staging, &StreamError{Err: err})
	}
	switch exitOf(err) {
	case codeMissingTool, codeNoAccess, codeNoSpace, codeSwap, codeExtract:
		return exitcode.Errorf(exitcode.Staging, "%s: %v", doing, err)
	case codeMismatch:
		return exitcode.Errorf(exitcode.Staging, "%s: files on the volume still differ from yours after %d rounds: the stream or the volume corrupts data; the previous staged copy is untouched", doing, maxRounds)
	}
	return exitcode.Errorf(exitcode.Staging, "%s: %v", doing, err)
}

func parseActual(out string) (Sums, error) {
	actual := Sums{}
	for _, line := range strings.Split(out, "\n") {
		rest, ok := strings.CutPrefix(line, "A ")
		if !ok {
			continue
		}
		rel, sum, err := parseSumLine(rest)
		if err != nil {
			return nil, err
		}
		actual[rel] = sum
	}
	return actual, nil
}

// limitedBuffer keeps the first max bytes of the remote stderr.
type limitedBuffer struct {
	buf *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.buf.Len(); room > 0 {
		if len(p) > room {
			l.buf.Write(p[:room])
		} else {
			l.buf.Write(p)
		}
	}
	return len(p), nil
}
