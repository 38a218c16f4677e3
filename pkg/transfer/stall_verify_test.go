package transfer

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/agenttest"
	"github.com/tracebloc/kubectl-tracebloc/pkg/podexec"
)

// slowVerifyRunner runs the agent, whose verification takes delay: its
// "verified" message reaches the plugin that much later, as when the agent
// hashes a large staged copy through the links of a re-push.
type slowVerifyRunner struct {
	inner *agenttest.Runner
	delay time.Duration
}

func (s *slowVerifyRunner) Run(ctx context.Context, command []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if command[0] == "sh" {
		return s.inner.Run(ctx, command, stdin, stdout, stderr)
	}
	return s.inner.Run(ctx, command, stdin, &delayVerified{w: stdout, delay: s.delay}, stderr)
}

type delayVerified struct {
	w     io.Writer
	delay time.Duration
}

func (d *delayVerified) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(`"t":"verified"`)) {
		time.Sleep(d.delay)
	}
	return d.w.Write(p)
}

// TestStageSlowVerificationIsNotAStall: once the whole stream is out,
// nothing more is sent until the agent has verified the copy, which takes
// as long as hashing what it has not hashed yet (every reused file of a
// re-push). That wait is not a dead connection: the push must not break it
// off as a stall.
func TestStageSlowVerificationIsNotAStall(t *testing.T) {
	w := newWorld(t)
	o := w.options(context.Background())
	a, err := podexec.Deliver(context.Background(), &slowVerifyRunner{inner: w.runner, delay: 1500 * time.Millisecond})
	must(t, err)
	o.Agent, o.StallTimeout = a, 300*time.Millisecond
	if _, err := Sync(context.Background(), o); err != nil {
		t.Fatalf("a verification slower than the stall timeout broke the push: %v", err)
	}
	w.assertExactCopy()
}
