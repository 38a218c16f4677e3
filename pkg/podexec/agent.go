package podexec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	utilexec "k8s.io/client-go/util/exec"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
	"github.com/tracebloc/kubectl-tracebloc/pkg/agentbin"
)

// AgentDir is where the agent lives in the Pod: the /tmp emptyDir.
const AgentDir = "/tmp/tracebloc"

// bootstrap is the only shell that runs in the Pod. It tells the plugin the
// machine's architecture and whether gzip is there, reads the transfer mode
// and the program's SHA-256 (checked by the program itself), then writes the
// program it receives on stdin to /tmp and runs its probe.
const bootstrap = `set -u
uname -m
if command -v gzip >/dev/null 2>&1; then echo gzip; else echo raw; fi
read -r mode sum || exit 0
[ "$mode" = skip ] && exit 0
umask 077
d=` + AgentDir + `
mkdir -p "$d" || exit 71
f="$d/.agent.$$"
if [ "$mode" = gzip ]; then gzip -dc > "$f" || exit 72; else cat > "$f" || exit 72; fi
chmod 700 "$f" && mv -f "$f" "$d/agent-$sum" || exit 72
exec "$d/agent-$sum" probe --sha256 "$sum"
`

// RemoteAgent is the stage agent delivered into one Pod.
type RemoteAgent struct {
	Runner Runner
	Path   string
	Arch   string
	UID    int
	GID    int
}

// DeliveryError is an agent that cannot be delivered or cannot run: the push
// stops before any data is sent.
type DeliveryError struct{ Msg string }

func (e *DeliveryError) Error() string { return e.Msg }

// goArch maps `uname -m` to the architectures the agent is built for.
func goArch(machine string) string {
	switch machine {
	case "x86_64", "amd64":
		return "amd64"
	case "aarch64", "arm64", "armv8l":
		return "arm64"
	}
	return ""
}

// Deliver sends the agent for the Pod's architecture into the Pod and checks
// that it runs. One delivery serves every later round in the same Pod.
func Deliver(ctx context.Context, r Runner) (*RemoteAgent, error) {
	pr, pw := io.Pipe()
	out := newMessageWriter()
	var stderr bytes.Buffer
	var agent *agentbin.Binary
	var sendErr error
	done := make(chan struct{})
	// The bootstrap's lines can only come while the exec runs: once it has
	// ended, the sender stops waiting for them.
	lctx, execEnded := context.WithCancel(ctx)
	defer execEnded()
	go func() {
		defer close(done)
		defer func() { _ = pw.Close() }()
		machine, ok1 := out.line(lctx)
		mode, ok2 := out.line(lctx)
		if !ok1 || !ok2 {
			return
		}
		agent, sendErr = pick(machine)
		if sendErr != nil {
			_, _ = io.WriteString(pw, "skip -\n")
			return
		}
		program := agent.Gzip
		if mode != "gzip" {
			if program, sendErr = agent.Program(); sendErr != nil {
				_, _ = io.WriteString(pw, "skip -\n")
				return
			}
		}
		if _, err := fmt.Fprintf(pw, "%s %s\n", mode, agent.Sum); err != nil {
			return
		}
		_, _ = pw.Write(program)
	}()
	err := r.Run(ctx, []string{"sh", "-c", bootstrap}, pr, out, &limitedBuffer{buf: &stderr, max: 8 << 10})
	_ = pr.CloseWithError(errors.New("the bootstrap ended"))
	execEnded()
	<-done
	switch {
	case sendErr != nil:
		return nil, sendErr
	case err != nil:
		return nil, deliveryFailure(err, stderr.String())
	}
	probe, ok := out.find(proto.MsgProbe)
	if !ok || agent == nil {
		return nil, &DeliveryError{Msg: fmt.Sprintf("the stage agent did not start in the stage Pod: %s", orNothing(stderr.String()))}
	}
	if probe.Version != proto.Version {
		// The stream's shape differs between versions (a resumed file
		// would be taken for a whole one): refuse rather than guess.
		return nil, &DeliveryError{Msg: fmt.Sprintf("the stage agent in the stage Pod speaks version %d of the stream and this plugin version %d: the Pod runs an agent this build did not deliver; delete the stage Pod and push again with one plugin build", probe.Version, proto.Version)}
	}
	return &RemoteAgent{Runner: r, Path: AgentDir + "/agent-" + agent.Sum, Arch: agent.Arch, UID: probe.UID, GID: probe.GID}, nil
}

// pick chooses the embedded agent for the machine `uname -m` named.
func pick(machine string) (*agentbin.Binary, error) {
	arch := goArch(machine)
	if arch == "" {
		return nil, &DeliveryError{Msg: fmt.Sprintf("the stage Pod runs on a %s node, and the stage agent is built for Linux on amd64 and arm64 only: stage through a Pod on an amd64 or arm64 node", machine)}
	}
	a, err := agentbin.For(arch)
	if err != nil {
		return nil, &DeliveryError{Msg: fmt.Sprintf("this build of the plugin carries no stage agent for %s (it has: %s): build it with make build, or install a release", arch, orNothing(strings.Join(agentbin.Archs(), ", ")))}
	}
	return a, nil
}

func orNothing(s string) string {
	if s = strings.TrimSpace(s); s == "" {
		return "no output"
	}
	return s
}

// deliveryFailure explains why the bootstrap or the agent's first run failed.
func deliveryFailure(err error, stderr string) error {
	msg := orNothing(stderr)
	switch exitCode(err) {
	case 126:
		return &DeliveryError{Msg: fmt.Sprintf("the stage Pod cannot run the stage agent from /tmp (%s): its /tmp is mounted noexec or a policy forbids running programs there; allow exec on the stage Pod's /tmp emptyDir for the stage image", msg)}
	case 127:
		return &DeliveryError{Msg: fmt.Sprintf("the stage image lacks a tool the bootstrap needs (%s): use an image with %s (--stage-image)", msg, ImageNeeds)}
	case 71, 72:
		return &DeliveryError{Msg: fmt.Sprintf("cannot write the stage agent to the stage Pod's /tmp (%s): the Pod needs a writable /tmp emptyDir", msg)}
	}
	var ae *AgentError
	if errors.As(err, &ae) {
		return &DeliveryError{Msg: "the stage agent failed its first run: " + ae.Msg}
	}
	if strings.Contains(stderr, "not found") {
		return &DeliveryError{Msg: fmt.Sprintf("the stage image lacks a tool the bootstrap needs (%s): use an image with %s (--stage-image)", msg, ImageNeeds)}
	}
	return err
}

func exitCode(err error) int {
	var ee utilexec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitStatus()
	}
	return -1
}

// AgentError is a failure the agent reported: its kind and message.
type AgentError struct {
	Kind proto.Kind
	Msg  string
}

func (e *AgentError) Error() string { return e.Msg }

// Run runs the agent with args. Each message it prints is passed to onMsg
// as it arrives. When the agent reports a failure, onFail runs at once (the
// caller ends its stream) and Run returns an *AgentError. Any other error is
// the exec's: the connection, the apiserver or the Pod went away.
func (a *RemoteAgent) Run(ctx context.Context, args []string, stdin io.Reader, onMsg func(proto.Message), onFail func()) error {
	return a.RunSums(ctx, args, stdin, onMsg, nil, onFail)
}

// RunSums is Run with the sum fields of the agent's messages (an
// inventory's files, a mismatch's) handed to onSums entry by entry, and
// left empty in the messages onMsg gets (nil onSums: as Run).
func (a *RemoteAgent) RunSums(ctx context.Context, args []string, stdin io.Reader, onMsg func(proto.Message), onSums SumsFunc, onFail func()) error {
	out := newMessageWriter()
	out.onMsg = onMsg
	out.onSums = onSums
	out.onFail = onFail
	var stderr bytes.Buffer
	err := a.Runner.Run(ctx, append([]string{a.Path}, args...), stdin, out, &limitedBuffer{buf: &stderr, max: 8 << 10})
	if m, ok := out.failure(); ok {
		return &AgentError{Kind: m.Kind, Msg: m.Msg}
	}
	if err == nil {
		return nil
	}
	if exitCode(err) == 137 || oomKilled(err) {
		if killed := a.killed(ctx); killed != nil {
			return killed
		}
	}
	if code := exitCode(err); code > 0 && code < 128 {
		if k := proto.KindOf(code); k != "" {
			return &AgentError{Kind: k, Msg: fmt.Sprintf("the stage agent failed (%s): %s", k, orNothing(stderr.String()))}
		}
		if code == 126 || code == 127 {
			return &AgentError{Kind: proto.KindIO, Msg: fmt.Sprintf("the stage agent is gone from the stage Pod (exit %d): %s", code, orNothing(stderr.String()))}
		}
	}
	return &ExecError{Err: err, Stderr: strings.TrimSpace(stderr.String())}
}

// podSource is a Runner that can tell which Pod it runs in.
type podSource interface {
	GetPod(ctx context.Context) (*corev1.Pod, error)
}

// oomKilled reports an exec error that names the OOM killer.
func oomKilled(err error) bool {
	return err != nil && strings.Contains(err.Error(), "OOMKilled")
}

// killed explains an agent ended by SIGKILL (exit 137) while its Pod lives
// on: the kernel killed it for memory (the agent is the largest process of
// the Pod). It is an agent failure, so the push does not retry into the
// same death. A Pod being deleted kills its processes the same way; that is
// left to the caller as a broken exec (nil here).
func (a *RemoteAgent) killed(ctx context.Context) error {
	limit, why := "", "exit 137"
	if src, ok := a.Runner.(podSource); ok {
		gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		pod, err := src.GetPod(gctx)
		cancel()
		if err != nil || pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodSucceeded {
			return nil
		}
		for _, c := range pod.Spec.Containers {
			if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
				limit = q.String()
			}
		}
		for _, cs := range pod.Status.ContainerStatuses {
			for _, st := range []corev1.ContainerState{cs.State, cs.LastTerminationState} {
				if st.Terminated != nil && st.Terminated.Reason == "OOMKilled" {
					why = "exit 137, OOMKilled in the Pod's status"
				}
			}
		}
	}
	where := "the stage Pod's memory limit"
	if limit != "" {
		where += " (" + limit + ")"
	}
	return &AgentError{Kind: proto.KindIO, Msg: fmt.Sprintf("the stage agent was killed for memory (%s): it needed more than %s allows; not retried, the same push would meet the same limit. Push fewer files at once; if the dataset is small, what the agent read on the shared volume may be planted: run kubectl tracebloc cleanup, then push again", why, where)}
}

// ExecError is an exec that ended without the agent's word: the stream, the
// apiserver or the Pod went away, or the agent was killed.
type ExecError struct {
	Err    error
	Stderr string
}

func (e *ExecError) Error() string {
	if e.Err == nil {
		return "the exec ended without a result"
	}
	return e.Err.Error()
}

func (e *ExecError) Unwrap() error { return e.Err }

// MaxMessage bounds one line of the agent's output: an inventory of the
// agent's largest push (its plan holds at most 256 MiB) fits, and a line
// without end costs no more than this.
const MaxMessage = 256 << 20

// messageWriter splits the agent's stdout into lines. Lines that are JSON
// messages are decoded and handed on; the first lines of the bootstrap are
// plain words. Each byte is looked at once (a write adds to the line, it
// does not search it again), and a line longer than MaxMessage is dropped
// as it grows and counts as a failure of the agent.
type messageWriter struct {
	mu      sync.Mutex
	partial []byte
	// tooLong is set while the line being read has passed MaxMessage.
	tooLong bool
	lines   chan string
	msgs    []proto.Message
	fail    *proto.Message
	onMsg   func(proto.Message)
	onFail  func()
	max     int
	// onSums, when set, receives the sum fields' entries; a long line is
	// then decoded as it arrives (stream), not held whole.
	onSums  SumsFunc
	stream  *streamedLine
	lineLen int
}

func newMessageWriter() *messageWriter {
	return &messageWriter{lines: make(chan string, 16), max: MaxMessage}
}

func (w *messageWriter) Write(p []byte) (int, error) {
	n := len(p)
	w.mu.Lock()
	var ready []proto.Message
	failed := false
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		switch {
		case w.tooLong:
		case w.lineLen+len(chunk) > w.max:
			w.tooLong = true
			w.partial = nil
			if w.stream != nil {
				w.stream.pw.CloseWithError(errors.New("the message is too long"))
				_, _ = w.stream.end()
				w.stream = nil
			}
			if w.fail == nil {
				w.fail = &proto.Message{T: proto.MsgError, Kind: proto.KindStream,
					Msg: fmt.Sprintf("the stage agent printed a message longer than %d MiB: it cannot be read; push the dataset in parts (fewer files)", w.max>>20)}
				failed = true
			}
		case w.stream != nil:
			// A decoder that gave up ignores the rest of its line.
			w.stream.write(chunk)
		default:
			w.partial = append(w.partial, chunk...)
			if w.onSums != nil && len(w.partial) > streamAfter && w.partial[0] == '{' {
				w.stream = startStream(w.onSums)
				w.stream.write(w.partial)
				w.partial = nil
			}
		}
		w.lineLen += len(chunk)
		if i < 0 {
			break
		}
		p = p[i+1:]
		w.lineLen = 0
		line := w.partial
		w.partial = w.partial[:0]
		if cap(w.partial) > 1<<20 {
			w.partial = nil // a large message: its buffer goes with it
		}
		if w.tooLong {
			w.tooLong = false
			continue
		}
		var m proto.Message
		if w.stream != nil {
			var err error
			m, err = w.stream.end()
			w.stream = nil
			if err != nil {
				continue
			}
		} else {
			if !bytes.HasPrefix(line, []byte("{")) {
				select {
				case w.lines <- string(line):
				default:
				}
				continue
			}
			if json.Unmarshal(line, &m) != nil {
				continue
			}
			if w.onSums != nil {
				handOver(&m, w.onSums)
			}
		}
		if m.T == proto.MsgError && w.fail == nil {
			mm := m
			w.fail = &mm
		}
		w.msgs = append(w.msgs, m)
		ready = append(ready, m)
	}
	onMsg, onFail := w.onMsg, w.onFail
	w.mu.Unlock()
	if failed && onFail != nil {
		onFail()
	}
	for _, m := range ready {
		if m.T == proto.MsgError {
			if onFail != nil {
				onFail()
			}
			continue
		}
		if onMsg != nil {
			onMsg(m)
		}
	}
	return n, nil
}

// line waits for the next plain line.
func (w *messageWriter) line(ctx context.Context) (string, bool) {
	select {
	case l := <-w.lines:
		return strings.TrimSpace(l), true
	case <-ctx.Done():
		return "", false
	}
}

func (w *messageWriter) find(t string) (proto.Message, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, m := range w.msgs {
		if m.T == t {
			return m, true
		}
	}
	return proto.Message{}, false
}

func (w *messageWriter) failure() (proto.Message, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fail == nil {
		return proto.Message{}, false
	}
	return *w.fail, true
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	buf *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := l.max - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
