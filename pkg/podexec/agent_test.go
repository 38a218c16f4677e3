package podexec

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
)

// funcRunner answers Run with a function.
type funcRunner func(ctx context.Context, command []string, stdin io.Reader, stdout, stderr io.Writer) error

func (f funcRunner) Run(ctx context.Context, command []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return f(ctx, command, stdin, stdout, stderr)
}

// TestDeliverDoesNotHangWhenTheBootstrapSaysNothing: an exec that fails
// before the shell prints its two lines (the container is gone, exec is
// forbidden, the shell is missing) must end Deliver with that error, not
// leave it waiting for lines that never come.
func TestDeliverDoesNotHangWhenTheBootstrapSaysNothing(t *testing.T) {
	for _, tt := range []struct {
		name   string
		output string
	}{
		{"no output", ""},
		{"one line", "x86_64\n"},
		{"a line without its newline", "x86_64\ngz"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			execErr := errors.New("container not found")
			r := funcRunner(func(_ context.Context, _ []string, _ io.Reader, stdout, _ io.Writer) error {
				_, _ = io.WriteString(stdout, tt.output)
				return execErr
			})
			// The caller's context has no deadline: a push waits as long as
			// the exec runs, and the exec has ended.
			done := make(chan error, 1)
			go func() {
				_, err := Deliver(context.Background(), r)
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), "container not found") {
					t.Errorf("Deliver = %v, want the exec's error", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Deliver hangs after the exec ended")
			}
		})
	}
}

// TestMessageWriterSplitsLinesAcrossWrites: the exec hands stdout on in
// pieces of any size; a message cut anywhere, garbage around it and lines
// that are not messages must neither lose nor invent a message.
func TestMessageWriterSplitsLinesAcrossWrites(t *testing.T) {
	out := `x86_64` + "\n" + `{"t":"inventory","staged":{"a":"b"}}` + "\n" + `{not json` + "\n" + `{"t":"verified","files":2}` + "\n" +
		"\x00\xff garbage\n" + `{"t":"error","kind":"stream","msg":"broke"}` + "\n" + `{"t":"error","kind":"io","msg":"second"}` + "\n" + `{"t":"swapped"`
	for _, size := range []int{1, 2, 7, 64, len(out)} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			w := newMessageWriter()
			var got []string
			fails := 0
			w.onMsg = func(m proto.Message) { got = append(got, m.T) }
			w.onFail = func() { fails++ }
			for i := 0; i < len(out); i += size {
				_, _ = w.Write([]byte(out[i:min(i+size, len(out))]))
			}
			if diff := cmp.Diff([]string{"inventory", "verified"}, got); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
			f, ok := w.failure()
			if !ok || f.Msg != "broke" || fails != 2 {
				t.Errorf("failure = %+v %v, onFail ran %d times; want the first error and one call per error", f, ok, fails)
			}
			if l, ok := w.line(context.Background()); !ok || l != "x86_64" {
				t.Errorf("first plain line = %q", l)
			}
		})
	}
}

// TestDeliverRefusesAnAgentOfAnotherVersion: an agent that speaks another
// version of the stream (a resumed file's entry would be taken for the
// whole file) is refused before anything is sent, with the way out.
func TestDeliverRefusesAnAgentOfAnotherVersion(t *testing.T) {
	for _, tt := range []struct {
		version int
		ok      bool
	}{{proto.Version - 1, false}, {proto.Version, true}} {
		r := funcRunner(func(_ context.Context, _ []string, stdin io.Reader, stdout, _ io.Writer) error {
			_, _ = io.WriteString(stdout, "x86_64\ngzip\n")
			// As the bootstrap does: the agent's line comes in first.
			if _, err := bufio.NewReader(stdin).ReadString('\n'); err != nil {
				return err
			}
			_, _ = fmt.Fprintf(stdout, "{\"t\":\"probe\",\"arch\":\"amd64\",\"uid\":65532,\"version\":%d}\n", tt.version)
			return nil
		})
		_, err := Deliver(context.Background(), r)
		if tt.ok != (err == nil) || (err != nil && !strings.Contains(err.Error(), fmt.Sprintf("speaks version %d", tt.version))) {
			t.Errorf("agent of version %d: Deliver = %v, want ok=%v", tt.version, err, tt.ok)
		}
	}
}
