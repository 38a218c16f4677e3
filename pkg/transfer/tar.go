package transfer

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// tarSource writes the stream: the plan first, then each file to send under
// data/. Each file is read through the dataset root, must be the very file
// the push hashed, and is hashed again on the way.
type tarSource struct {
	root     *os.Root
	plan     []byte
	files    []dataset.File
	local    *Local
	maxBytes int64
	progress func(n int64)
	// stop ends the stream cleanly at the next file boundary (Ctrl-C): every
	// file sent so far lands whole in the partial copy, for the next push.
	stop <-chan struct{}
}

// EntryName is the tar name of a staged file: data/ and a path the stage
// agent accepts. It refuses anything that could land outside the copy.
func EntryName(rel string) (string, error) {
	if err := proto.CheckRel(rel); err != nil {
		return "", err
	}
	return proto.EntryData + rel, nil
}

func (s *tarSource) writeTo(w io.Writer) error {
	tw := tar.NewWriter(w)
	now := time.Now().Truncate(time.Second)
	hdr := &tar.Header{Name: proto.EntryPlan, Mode: 0o644, Size: int64(len(s.plan)), ModTime: now, Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := tw.Write(s.plan); err != nil {
		return err
	}
	for _, f := range s.files {
		select {
		case <-s.stop:
			hdr := &tar.Header{Name: proto.EntryInterrupted, Mode: 0o644, ModTime: now, Typeflag: tar.TypeReg}
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

// changed is the error for a local file that is not what the pre-flight saw.
func changed(f dataset.File) error {
	return exitcode.Errorf(exitcode.Local, "%s changed during the push (it was replaced, or its size changed): push again", f.Source())
}

// openChecked opens f under the dataset root and vouches that the open
// descriptor is the regular file at that path (not a link to one, nor a file
// swapped in since): the path's Lstat and the descriptor's Stat must be the
// same file, with the size the walk saw, and, when want is given, the same
// file as want.
func openChecked(r *os.Root, f dataset.File, want os.FileInfo) (*os.File, os.FileInfo, error) {
	src := filepath.FromSlash(f.Source())
	fh, err := r.Open(src)
	if err != nil {
		return nil, nil, exitcode.Errorf(exitcode.Local, "reading %s: %w", f.Source(), err)
	}
	info, err := fh.Stat()
	if err == nil {
		var lst os.FileInfo
		lst, err = r.Lstat(src)
		if err == nil && (!lst.Mode().IsRegular() || !info.Mode().IsRegular() || !os.SameFile(lst, info) || info.Size() != f.Size ||
			(want != nil && !os.SameFile(info, want))) {
			err = changed(f)
		}
	}
	if err != nil {
		fh.Close()
		return nil, nil, exitcode.Wrap(exitcode.Local, err)
	}
	return fh, info, nil
}

func (s *tarSource) writeFile(tw *tar.Writer, f dataset.File) error {
	name, err := EntryName(f.Rel)
	if err != nil {
		return exitcode.Wrap(exitcode.Local, err)
	}
	if f.Size > s.maxBytes {
		return exitcode.Errorf(exitcode.Local, "%s holds %s, over the per-file cap", f.Source(), dataset.HumanBytes(f.Size))
	}
	fh, info, err := openChecked(s.root, f, s.local.ids[f.Rel])
	if err != nil {
		return err
	}
	defer fh.Close()
	// Names and sizes only: no owner, fixed mode, the local mtime to the
	// second. The writer picks the smallest format that holds the name.
	hdr := &tar.Header{Name: name, Mode: 0o644, Size: f.Size, ModTime: info.ModTime().Truncate(time.Second), Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tw, h, progressWriter(s.progress)), io.LimitReader(fh, f.Size))
	if err != nil {
		return err
	}
	if n != f.Size {
		return changed(f)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != s.local.Sums[f.Rel] {
		return exitcode.Errorf(exitcode.Local, "%s changed during the push (its content differs from the pre-flight's): push again", f.Source())
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
