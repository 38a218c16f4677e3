package transfer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
	"github.com/tracebloc/kubectl-tracebloc/pkg/podexec"
)

// textWorld is a dataset of many small, very compressible text files.
func textWorld(t *testing.T, n int) (*world, []dataset.File) {
	t.Helper()
	w := newWorld(t)
	root := t.TempDir()
	w.local = root
	must(t, os.MkdirAll(filepath.Join(root, "texts"), 0o755))
	var csv strings.Builder
	csv.WriteString("filename,label\n")
	var files []dataset.File
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("t%05d.txt", i)
		body := strings.Repeat(fmt.Sprintf("sentence %d of a review that says the product was fine. ", i%7), 6)
		must(t, os.WriteFile(filepath.Join(root, "texts", name), []byte(body), 0o644))
		files = append(files, dataset.File{Rel: "texts/" + name, Size: int64(len(body))})
		fmt.Fprintf(&csv, "%s,%d\n", name, i%2)
	}
	must(t, os.WriteFile(filepath.Join(root, "labels.csv"), []byte(csv.String()), 0o644))
	files = append(files, dataset.File{Rel: "labels.csv", Size: int64(csv.Len())})
	return w, files
}

func (w *world) stageFiles(t *testing.T, files []dataset.File, compress string) *Result {
	t.Helper()
	local, err := HashFiles(w.local, files)
	must(t, err)
	a, err := podexec.Deliver(context.Background(), w.runner)
	must(t, err)
	res, err := Sync(context.Background(), Options{Root: w.local, Files: files, Local: local, Table: "cats", Nonce: "n",
		Agent: a, Compress: compress})
	must(t, err)
	return res
}

func TestStageCompressesWhatShrinks(t *testing.T) {
	for _, tt := range []struct {
		mode string
		want bool
	}{{CompressAuto, true}, {CompressAlways, true}, {CompressNever, false}} {
		t.Run(tt.mode, func(t *testing.T) {
			w, files := textWorld(t, 400)
			res := w.stageFiles(t, files, tt.mode)
			w.assertExactCopy()
			if res.Compressed != tt.want {
				t.Fatalf("compressed = %v, want %v", res.Compressed, tt.want)
			}
			var raw int64
			for _, f := range files {
				raw += f.Size + 512
			}
			if tt.want && res.WireBytes*3 > raw {
				t.Errorf("%d bytes on the wire for %d of tar: compression saved too little", res.WireBytes, raw)
			}
			if !tt.want && res.WireBytes < raw {
				t.Errorf("%d bytes on the wire, less than the %d of the tar, without compression", res.WireBytes, raw)
			}
		})
	}
}

func TestAutoLeavesImagesUncompressed(t *testing.T) {
	w := newWorld(t)
	// Photos do not shrink: noise PNGs of a realistic size stand in.
	w.local = t.TempDir()
	must(t, fixture.Write(w.local, fixture.Options{Images: 6, Width: 176, Height: 176, Ext: ".png", Noise: true}))
	o := w.options(context.Background())
	o.Compress = CompressAuto
	res, err := Sync(context.Background(), o)
	must(t, err)
	w.assertExactCopy()
	if res.Compressed {
		t.Errorf("noisy images were compressed: %+v", res)
	}
}

// TestCompressedRepushAndResume: a compressed stream that is interrupted
// keeps whole files; the next push resumes them and sends the rest.
func TestCompressedInterruptAndResume(t *testing.T) {
	w, files := textWorld(t, 300)
	local, err := HashFiles(w.local, files)
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var sent int64
	a, err := podexec.Deliver(context.Background(), w.runner)
	must(t, err)
	_, err = Sync(ctx, Options{Root: w.local, Files: files, Local: local, Table: "cats", Nonce: "n1", Agent: a,
		Compress: CompressAlways, Progress: func(n int64) {
			if sent += n; sent > 40000 {
				cancel()
			}
		}})
	if ctx.Err() == nil || err == nil {
		t.Fatalf("the push was not interrupted: %v", err)
	}
	res := w.stageFiles(t, files, CompressAlways)
	w.assertExactCopy()
	if res.Resumed == 0 || res.SentFiles == len(files) {
		t.Errorf("result %+v: want some files resumed from the interrupted push", res)
	}
}
