package podexec

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
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
