//go:build linux

package transfer

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent"
	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/agenttest"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
	"github.com/tracebloc/kubectl-tracebloc/pkg/podexec"
)

// cutWorld is a dataset of a few big images whose first push breaks off
// in the middle of the second file, after the agent has saved checkpoints
// of it. It returns the options of the next push and the cut file.
func cutWorld(t *testing.T, compress string) (*world, Options, string) {
	t.Helper()
	defer agent.SetCheckpoints(16<<10, 0)()
	w := &world{t: t, local: t.TempDir(), volume: t.TempDir()}
	w.runner = &agenttest.Runner{Volume: w.volume}
	must(t, fixture.Write(w.local, fixture.Options{Images: 3, Width: 700, Height: 700, Ext: ".png", Noise: true}))
	o := w.options(context.Background())
	o.Compress = compress
	pad := func(n int64) int64 { return (n + 511) / 512 * 512 }
	planSize, err := MakePlan(o.Files, o.Local, Inventory{}).writeWire(io.Discard)
	must(t, err)
	cut := 512 + pad(planSize) + 512 + pad(o.Files[0].Size) + 512 + o.Files[1].Size*3/4
	a, err := podexec.Deliver(context.Background(), &cutRunner{inner: w.runner, cut: cut})
	must(t, err)
	first := o
	first.Agent = a
	if _, err := Sync(context.Background(), first); err == nil {
		t.Fatal("the cut stream staged a copy")
	}
	return w, o, o.Files[1].Rel
}

// TestStageContinuesAFileCutMidStream: the push after a stream that broke
// off inside a file sends only what the volume lacks of that file (its
// start is verified on the volume), plain and compressed, and the staged
// copy is exact.
func TestStageContinuesAFileCutMidStream(t *testing.T) {
	for _, compress := range []string{CompressNever, CompressAlways} {
		t.Run(compress, func(t *testing.T) {
			w, o, rel := cutWorld(t, compress)
			var size int64
			for _, f := range o.Files {
				if f.Rel == rel {
					size = f.Size
				}
			}
			res, err := Sync(context.Background(), o)
			must(t, err)
			w.assertExactCopy()
			if res.ResumedBytes < size/4 || res.ResumedBytes >= size {
				t.Fatalf("resumed %d bytes of %s (%d bytes), want most of what the cut stream delivered", res.ResumedBytes, rel, size)
			}
			var total int64
			for _, f := range o.Files {
				total += f.Size
			}
			if want := total - o.Files[0].Size - res.ResumedBytes; res.SentBytes != want {
				t.Errorf("sent %d bytes, want %d: all but the whole first file and the start of %s", res.SentBytes, want, rel)
			}
		})
	}
}

// TestStageSendsWholeAFileChangedSinceTheCut: a local file whose start no
// longer matches what the volume holds of it is sent whole.
func TestStageSendsWholeAFileChangedSinceTheCut(t *testing.T) {
	w, _, rel := cutWorld(t, CompressNever)
	p := filepath.Join(w.local, rel)
	b := mustRead(t, p)
	// A byte of the image data, well inside the part that arrived; the
	// size and the header (what the pre-flight checks) stay.
	b[len(b)/8] ^= 0xff
	must(t, os.WriteFile(p, b, 0o644))
	o := w.options(context.Background())
	res, err := Sync(context.Background(), o)
	must(t, err)
	w.assertExactCopy()
	if res.ResumedBytes != 0 {
		t.Errorf("resumed %d bytes of a file changed since the cut", res.ResumedBytes)
	}
	var total int64
	for _, f := range o.Files {
		total += f.Size
	}
	if want := total - o.Files[0].Size; res.SentBytes != want {
		t.Errorf("sent %d bytes, want %d (all but the first file, which arrived whole)", res.SentBytes, want)
	}
}
