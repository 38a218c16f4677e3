package transfer

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

var errStalled = errors.New("nothing was sent for too long")

// watchStall cancels the stream when no byte has moved for timeout while
// there was still data to send. Once the whole stream is out, the agent is
// verifying, which may take long on a slow volume; the stage Pod's
// activeDeadlineSeconds (and with it the exec) bounds that wait.
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
