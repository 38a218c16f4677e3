package transfer

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/agenttest"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
	"github.com/tracebloc/kubectl-tracebloc/pkg/podexec"
)

// slowLinkRunner runs the agent behind a link that never stops but is
// slow: its stream arrives a little at a time, a piece every few
// milliseconds.
type slowLinkRunner struct {
	inner *agenttest.Runner
	piece int
	every time.Duration
}

func (s *slowLinkRunner) Run(ctx context.Context, command []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if command[0] == "sh" {
		return s.inner.Run(ctx, command, stdin, stdout, stderr)
	}
	return s.inner.Run(ctx, command, &slowReader{r: stdin, piece: s.piece, every: s.every}, stdout, stderr)
}

type slowReader struct {
	r     io.Reader
	piece int
	every time.Duration
}

func (s *slowReader) Read(p []byte) (int, error) {
	time.Sleep(s.every)
	return s.r.Read(p[:min(len(p), s.piece)])
}

// TestStageSlowLinkIsNotAStall: on a link that moves bytes all the time,
// only slowly, the stream is never silent for the stall timeout, compressed
// or not: the chunks in flight that are still on their way when the files
// are all read are bytes moving, not a dead connection.
func TestStageSlowLinkIsNotAStall(t *testing.T) {
	for _, mode := range []string{CompressNever, CompressAlways} {
		t.Run(mode, func(t *testing.T) {
			w := newWorld(t)
			w.local = t.TempDir()
			// Noise does not shrink: every chunk goes whole.
			must(t, fixture.Write(w.local, fixture.Options{Images: 4, Width: 512, Height: 512, Ext: ".png", Noise: true}))
			o := w.options(context.Background())
			// 16 KiB every 10 ms: about 1.6 MB/s, never 1 s without a
			// byte. The bytes in flight when the files are all read take
			// the same share of the stall timeout at any pace where it is
			// 100 pieces' time; a slower pace leaves a loaded machine's
			// pauses more room.
			a, err := podexec.Deliver(context.Background(), &slowLinkRunner{inner: w.runner, piece: 16 << 10, every: 10 * time.Millisecond})
			must(t, err)
			o.Agent, o.Compress, o.StallTimeout = a, mode, time.Second
			if _, err := Sync(context.Background(), o); err != nil {
				t.Fatalf("a slow link that never stopped broke the push: %v", err)
			}
			w.assertExactCopy()
		})
	}
}
