//go:build linux

package transfer

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/agenttest"
	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// brokenStageRunner runs the stage command as stage says instead of the
// agent; everything else (the delivery) runs as usual.
type brokenStageRunner struct {
	inner *agenttest.Runner
	stage func(ctx context.Context, stdin io.Reader, stdout io.Writer) error
}

func (b *brokenStageRunner) Run(ctx context.Context, command []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if command[0] != "sh" && command[1] == proto.CmdStage {
		return b.stage(ctx, stdin, stdout)
	}
	return b.inner.Run(ctx, command, stdin, stdout, stderr)
}

// TestRoundAgentThatFailsItsPartEndsThePush: a stage agent that ends
// before its inventory, or dies once the plan is out (its connection
// cut), ends the push with the staging exit code and a message, never a
// hang and never a success.
func TestRoundAgentThatFailsItsPartEndsThePush(t *testing.T) {
	cases := map[string]func(ctx context.Context, stdin io.Reader, stdout io.Writer) error{
		"ends before its inventory": func(context.Context, io.Reader, io.Writer) error { return nil },
		"killed before its inventory": func(context.Context, io.Reader, io.Writer) error {
			return errors.New("command terminated with exit code 137")
		},
		"dies after the plan": func(_ context.Context, stdin io.Reader, stdout io.Writer) error {
			if _, err := io.WriteString(stdout, `{"t":"inventory"}`+"\n"); err != nil {
				return err
			}
			// Read the plan's first block, then go away.
			if _, err := io.ReadFull(stdin, make([]byte, 512)); err != nil {
				return err
			}
			return errors.New("command terminated with exit code 137")
		},
	}
	for name, stage := range cases {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			o := w.optionsThrough(&brokenStageRunner{inner: w.runner, stage: stage})
			done := make(chan error, 1)
			go func() {
				res, err := Sync(context.Background(), o)
				if err == nil {
					err = errors.New("no error")
					t.Errorf("the push succeeded: %+v", res)
				}
				done <- err
			}()
			select {
			case err := <-done:
				if exitcode.Of(err) != exitcode.Staging || !strings.Contains(err.Error(), "stage") {
					t.Errorf("error %q (exit %d), want the staging exit code and a message naming the stage pod or agent", err, exitcode.Of(err))
				}
			case <-time.After(20 * time.Second):
				t.Fatal("the push hangs")
			}
		})
	}
}
