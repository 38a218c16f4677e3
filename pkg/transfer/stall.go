package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
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

// wirePiece is the most a movingWriter writes at once: a link that moves at
// all marks the stall clock at least every wirePiece bytes.
const wirePiece = 64 << 10

// movingWriter writes onto the stream in pieces and marks the stall clock
// after each: bytes the link takes are movement, also those of a chunk
// compressed from files read long before. Once the stream is out (the
// clock stopped at math.MaxInt64) it marks nothing.
type movingWriter struct {
	w    io.Writer
	last *atomic.Int64
}

func (m movingWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k, err := m.w.Write(p[:min(len(p), wirePiece)])
		n += k
		if err != nil {
			return n, err
		}
		p = p[k:]
		if t := m.last.Load(); t != math.MaxInt64 {
			m.last.CompareAndSwap(t, time.Now().UnixNano())
		}
	}
	return n, nil
}
