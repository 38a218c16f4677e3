package transfer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	utilexec "k8s.io/client-go/util/exec"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

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

// run runs script in the stage Pod with the table and extra as arguments;
// its stdout goes to stdout.
func run(ctx context.Context, r Runner, script, table string, extra []string, stdin io.Reader, stdout io.Writer) error {
	var stderr bytes.Buffer
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	onExit := cancel
	if c, ok := stdin.(io.Closer); ok {
		// The script has given up: end the stream too, so nothing waits
		// on data it will never read.
		onExit = func() { cancel(); _ = c.Close() }
	}
	watch := &exitWatcher{buf: &limitedBuffer{buf: &stderr, max: 16 << 10}, onExit: onExit}
	err := r.Run(rctx, append([]string{"sh", "-c", script, "tracebloc-stage", table}, extra...), stdin, stdout, watch)
	// The stream may still be delivering stderr after a cancelled run:
	// read it under the watcher's lock.
	msg := strings.TrimSpace(strings.Replace(watch.text(&stderr), fmt.Sprintf("%s %d", exitMarker, watch.exited()), "", 1))
	if code := watch.exited(); code != 0 && ctx.Err() == nil {
		return &remoteFailure{err: utilexec.CodeExitError{Err: fmt.Errorf("exit %d", code), Code: code}, stderr: msg}
	}
	if err != nil {
		return &remoteFailure{err: err, stderr: msg}
	}
	return nil
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
	// Keep the bytes first: the script's message comes just before its exit
	// line, and must be in the buffer before onExit ends the stream.
	if _, err := w.buf.Write(p); err != nil {
		return 0, err
	}
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
	return len(p), nil
}

// text returns what the watcher has passed on to buf so far.
func (w *exitWatcher) text(buf *bytes.Buffer) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return buf.String()
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
