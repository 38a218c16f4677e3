package transfer

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
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
			_, err := Stage(context.Background(), o)
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
