package transfer

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// entry is a small in-memory file of the stream (the plan).
type entry struct {
	name string
	data []byte
}

// tarSource writes the stream: plan entries first, then each file to send
// under data/. Files are re-checked with Lstat as they are read and hashed
// again on the way, so a file that changed since the pre-flight is refused.
type tarSource struct {
	root     string
	plan     []entry
	files    []dataset.File
	sums     Sums
	maxBytes int64
	progress func(n int64)
	// stop ends the stream cleanly at the next file boundary (Ctrl-C): every
	// file sent so far lands whole in the partial copy, for the next push.
	stop <-chan struct{}
}

// interruptedEntry tells the Pod the stream was cut short on purpose.
const interruptedEntry = "plan/interrupted"

// EntryName is the tar name of a dataset file: clean, relative, under data/.
// It refuses anything that could land outside the partial copy.
func EntryName(rel string) (string, error) {
	if rel == "" || strings.HasPrefix(rel, "/") || strings.Contains(rel, "\\") || strings.ContainsRune(rel, 0) {
		return "", fmt.Errorf("unsafe file name %q", rel)
	}
	clean := path.Clean(rel)
	if clean != rel || clean == "." || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("unsafe file name %q", rel)
	}
	return "data/" + clean, nil
}

func (s *tarSource) writeTo(w io.Writer) error {
	tw := tar.NewWriter(w)
	now := time.Now().Truncate(time.Second)
	for _, e := range s.plan {
		hdr := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.data)), ModTime: now, Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(e.data); err != nil {
			return err
		}
	}
	for _, f := range s.files {
		select {
		case <-s.stop:
			hdr := &tar.Header{Name: interruptedEntry, Mode: 0o644, ModTime: now, Typeflag: tar.TypeReg}
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			return tw.Close()
		default:
		}
		if err := s.writeFile(tw, f); err != nil {
			return err
		}
	}
	return tw.Close()
}

func (s *tarSource) writeFile(tw *tar.Writer, f dataset.File) error {
	name, err := EntryName(f.Rel)
	if err != nil {
		return err
	}
	p := filepath.Join(s.root, filepath.FromSlash(f.Rel))
	fh, err := os.Open(p)
	if err != nil {
		return exitcode.Errorf(exitcode.Local, "reading %s: %w", f.Rel, err)
	}
	defer fh.Close()
	// Lstat after open: a file swapped for a link since the walk is refused.
	info, err := os.Lstat(p)
	if err != nil {
		return exitcode.Errorf(exitcode.Local, "reading %s: %w", f.Rel, err)
	}
	switch {
	case info.Mode()&fs.ModeSymlink != 0 || !info.Mode().IsRegular():
		return exitcode.Errorf(exitcode.Local, "%s is no longer a regular file (it changed during the push): push again", f.Rel)
	case info.Size() > s.maxBytes:
		return exitcode.Errorf(exitcode.Local, "%s grew to %s during the push, over the per-file cap: push again", f.Rel, dataset.HumanBytes(info.Size()))
	}
	// Names and sizes only: no owner, fixed mode, the local mtime to the
	// second. The writer picks the smallest format that holds the name: a
	// plain ustar header for most files, PAX records only for long or
	// non-ASCII names (sub-second times alone would cost a PAX header each).
	hdr := &tar.Header{Name: name, Mode: 0o644, Size: info.Size(), ModTime: info.ModTime().Truncate(time.Second), Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tw, h, progressWriter(s.progress)), io.LimitReader(fh, info.Size()))
	if err != nil {
		return err
	}
	if n != info.Size() {
		return exitcode.Errorf(exitcode.Local, "%s shrank during the push: push again", f.Rel)
	}
	if got := hex.EncodeToString(h.Sum(nil)); s.sums != nil && got != s.sums[f.Rel] {
		return exitcode.Errorf(exitcode.Local, "%s changed during the push: push again", f.Rel)
	}
	return nil
}

type progressWriter func(n int64)

func (p progressWriter) Write(b []byte) (int, error) {
	if p != nil {
		p(int64(len(b)))
	}
	return len(b), nil
}
