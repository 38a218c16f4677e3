//go:build linux

package transfer

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent"
	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/agenttest"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
)

// TestStageInterruptInsideABigFileStopsThere: Ctrl-C while a big file is
// on its way ends the stream within a buffer, not at the file's end (a
// 4 GiB CSV at 100 Mbit/s kept sending until the drain clock cut it, ten
// seconds on); the next push continues the file from the last byte that
// arrived, and the staged copy is exact (also when the file was to be
// hashed only as it went: a first push).
func TestStageInterruptInsideABigFileStopsThere(t *testing.T) {
	for _, tc := range []struct {
		compress string
		lazy     bool
	}{{CompressNever, false}, {CompressAlways, false}, {CompressNever, true}} {
		t.Run(fmt.Sprintf("%s/lazy=%v", tc.compress, tc.lazy), func(t *testing.T) {
			defer agent.SetCheckpoints(16<<10, 0)()
			w := &world{t: t, local: t.TempDir(), volume: t.TempDir(), lazy: tc.lazy}
			w.runner = &agenttest.Runner{Volume: w.volume}
			must(t, fixture.Write(w.local, fixture.Options{Images: 3, Width: 700, Height: 700, Ext: ".png", Noise: true}))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			o := w.options(ctx)
			o.Compress = tc.compress
			// Ctrl-C a quarter into the second file.
			at := o.Files[0].Size + o.Files[1].Size/4
			var sent, after int64
			o.Progress = func(n int64) {
				if ctx.Err() != nil {
					after += n
				}
				if sent += n; sent >= at {
					cancel()
				}
			}
			if _, err := Sync(ctx, o); !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
			// One buffer of the file may still go; the rest of it must not.
			if limit := int64(256 << 10); after > limit {
				t.Errorf("%d bytes were sent after Ctrl-C, want at most %d (one buffer): the stream went on to the file's end", after, limit)
			}
			res, err := w.push()
			must(t, err)
			w.assertExactCopy()
			if res.ResumedBytes == 0 {
				t.Errorf("result = %+v, want the cut file continued from what arrived", res)
			}
		})
	}
}
