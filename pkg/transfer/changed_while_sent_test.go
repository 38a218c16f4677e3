package transfer

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/agenttest"
	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/podexec"
)

// TestStageFileChangedWhileSent: a file the user changes while it is being
// sent would reach the volume half old, half new. Hashed only as it is sent
// (a first push), the hash is of those same mixed bytes, so the agent's check
// cannot see it: the push itself must notice the change and stop, whether
// the file was hashed before the stream or not.
func TestStageFileChangedWhileSent(t *testing.T) {
	for _, lazy := range []bool{false, true} {
		name := "hashed before the stream"
		if lazy {
			name = "hashed as sent"
		}
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			w.lazy = lazy
			// Images larger than one read, so the change lands between two.
			w.local = t.TempDir()
			must(t, fixture.Write(w.local, fixture.Options{Images: 2, Width: 600, Height: 600, Ext: ".png", Noise: true}))
			old := time.Now().Add(-time.Hour)
			must(t, filepath.Walk(w.local, func(p string, info os.FileInfo, err error) error {
				if err != nil || info.IsDir() {
					return err
				}
				return os.Chtimes(p, old, old)
			}))
			o := w.options(context.Background())
			var offset, size int64
			target := ""
			for _, f := range o.Files {
				if f.Size > 256<<10+4096 {
					target, size = f.Source(), f.Size
					break
				}
				offset += f.Size
			}
			if target == "" {
				t.Fatal("no file larger than one read")
			}
			var sent int64
			changed := false
			o.Progress = func(n int64) {
				// Once the first read of the large file is out, its tail
				// changes in place: same size, other bytes.
				if sent += n; !changed && sent > offset && sent < offset+size {
					changed = true
					fh, err := os.OpenFile(filepath.Join(w.local, filepath.FromSlash(target)), os.O_WRONLY, 0)
					must(t, err)
					_, err = fh.WriteAt(make([]byte, 1000), size-1000)
					must(t, err)
					must(t, fh.Close())
				}
			}
			_, err := Sync(context.Background(), o)
			if !changed {
				t.Fatal("the file was never changed mid-stream")
			}
			if exitcode.Of(err) != exitcode.Local {
				if _, serr := os.Stat(w.staged()); serr == nil {
					t.Fatalf("err = %v: a copy mixing the file's old and new bytes was staged", err)
				}
				t.Fatalf("err = %v, want exit %d (changed during the push)", err, exitcode.Local)
			}
		})
	}
}

// cutRunner runs the agent, but its first stage run gets only the first cut
// bytes of the stream, as over a connection that broke mid-file.
type cutRunner struct {
	inner *agenttest.Runner
	cut   int64
	runs  int
}

func (c *cutRunner) Run(ctx context.Context, command []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if command[0] != "sh" && command[1] == proto.CmdStage {
		if c.runs++; c.runs == 1 {
			stdin = io.LimitReader(stdin, c.cut)
		}
	}
	return c.inner.Run(ctx, command, stdin, stdout, stderr)
}

// TestStageResumeWithHashesTakenAsSent: a first push hashes its files as it
// sends them; when the stream breaks, the push tries again with what it has
// learned. The files sent before the break are then hashed already, one of
// them having landed only in part: the retry must resume the whole ones,
// send the rest, and end in an exact copy, without reading a file twice to
// plan.
func TestStageResumeWithHashesTakenAsSent(t *testing.T) {
	w := newWorld(t)
	w.lazy = true
	o := w.options(context.Background())
	// Cut the stream in the middle of the fourth file.
	pad := func(n int64) int64 { return (n + 511) / 512 * 512 }
	planSize, err := MakePlan(o.Files, o.Local, Inventory{}).writeWire(io.Discard)
	must(t, err)
	cut := 512 + pad(planSize)
	for _, f := range o.Files[:3] {
		cut += 512 + pad(f.Size)
	}
	cut += 512 + o.Files[3].Size/2
	cr := &cutRunner{inner: w.runner, cut: cut}
	a, err := podexec.Deliver(context.Background(), cr)
	must(t, err)
	o.Agent = a
	if _, err := Sync(context.Background(), o); err == nil {
		t.Fatal("the cut stream staged a copy")
	}
	dirs, err := filepath.Glob(filepath.Join(w.stagingRoot(), ".partial-cats", "data-*"))
	if err != nil || len(dirs) != 1 {
		t.Fatalf("partial copy: %v %v, want one data folder", dirs, err)
	}
	partial, local := tree(t, dirs[0]), tree(t, w.local)
	half := o.Files[3].Rel
	if len(partial) != 4 || len(partial[half]) == 0 || partial[half] == local[half] {
		t.Fatalf("partial copy holds %d files, %s with %d of %d bytes; want 4, the last in part", len(partial), half, len(partial[half]), len(local[half]))
	}
	sent := 0
	for _, f := range o.Files {
		if _, ok := o.Local.Sum(f.Rel); ok {
			sent++
		}
	}
	if sent < 4 {
		t.Fatalf("%d of %d files were hashed as sent before the cut, want at least the 4 that reached the volume", sent, len(o.Files))
	}
	res, err := Sync(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	w.assertExactCopy()
	if res.Resumed != 3 || res.SentFiles != len(o.Files)-3 {
		t.Errorf("resumed %d and sent %d files; want the 3 that landed whole resumed, the other %d sent", res.Resumed, res.SentFiles, len(o.Files)-3)
	}
}
