package podexec

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
)

// TestMessageReaderIsLinear: a long message arriving in small writes (an
// inventory of many files over a slow link) is searched for its end once,
// not once per write: eight times the message takes about eight times as
// long, not sixty-four (the rescanning reader took 11 s for 8 MiB in
// 256-byte writes). Timed as a ratio with a wide margin (24×, between
// linear and quadratic), so a loaded machine or the race detector, which
// slow both sizes alike, do not fail it.
func TestMessageReaderIsLinear(t *testing.T) {
	feed := func(size int) time.Duration {
		best := time.Duration(1 << 62)
		for range 2 {
			w := newMessageWriter()
			var got []proto.Message
			w.onMsg = func(m proto.Message) { got = append(got, m) }
			line := []byte(`{"t":"inventory","notes":["` + strings.Repeat("x", size) + `"]}`)
			start := time.Now()
			for i := 0; i < len(line); i += 256 {
				_, _ = w.Write(line[i:min(i+256, len(line))])
			}
			best = min(best, time.Since(start))
			_, _ = w.Write([]byte("\n"))
			if len(got) != 1 || got[0].T != proto.MsgInventory || len(got[0].Notes[0]) != size {
				t.Fatalf("the %d-byte message did not come through whole: %d messages", size, len(got))
			}
		}
		return best
	}
	small, large := feed(1<<20), feed(8<<20)
	t.Logf("1 MiB: %v, 8 MiB: %v", small, large)
	if large > 24*small+100*time.Millisecond {
		t.Errorf("8 MiB took %v, 1 MiB %v: the reader is not linear", large, small)
	}
}

// TestMessageReaderBoundsALine: a line without end is dropped as it grows
// past the bound (it never holds more than the bound), the run fails with a
// message that says so and stops the stream, and the reader still reads the
// lines after it.
func TestMessageReaderBoundsALine(t *testing.T) {
	w := newMessageWriter()
	w.max = 1 << 20
	failed := 0
	w.onFail = func() { failed++ }
	chunk := bytes.Repeat([]byte("y"), 64<<10)
	for range 64 { // 4 MiB, no newline
		_, _ = w.Write(chunk)
		if cap(w.partial) > 2*w.max {
			t.Fatalf("the reader holds %d bytes of one line, bound %d", cap(w.partial), w.max)
		}
	}
	_, _ = w.Write([]byte("\n{\"t\":\"verified\",\"files\":3}\n"))
	m, ok := w.failure()
	if !ok || m.Kind != proto.KindStream || !strings.Contains(m.Msg, "longer than 1 MiB") {
		t.Errorf("failure = %+v, %v: want the stream kind naming the bound", m, ok)
	}
	if failed != 1 {
		t.Errorf("the stream was told to stop %d times, want once", failed)
	}
	if v, ok := w.find(proto.MsgVerified); !ok || v.Files != 3 {
		t.Errorf("the line after the long one was lost: %+v %v", v, ok)
	}
}

// TestRunReportsAnOverlongMessage: through Run, the bound ends the run as
// an agent failure (not a broken stream that a retry would repeat).
func TestRunReportsAnOverlongMessage(t *testing.T) {
	r := funcRunner(func(_ context.Context, _ []string, _ io.Reader, stdout, _ io.Writer) error {
		mw := stdout.(*messageWriter)
		mw.max = 1 << 10
		_, err := stdout.Write(bytes.Repeat([]byte("{"), 4<<10))
		return err
	})
	a := &RemoteAgent{Runner: r, Path: "/tmp/agent"}
	err := a.Run(context.Background(), []string{"stage"}, nil, nil, nil)
	var ae *AgentError
	if !asAgentError(err, &ae) || ae.Kind != proto.KindStream {
		t.Fatalf("Run = %v, want an AgentError of kind stream", err)
	}
}

func asAgentError(err error, target **AgentError) bool {
	ae, ok := err.(*AgentError)
	*target = ae
	return ok
}
