//go:build !unix

package transfer

import (
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/datafile"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// fileID is which file was read.
type fileID struct{ info os.FileInfo }

// localRoot reads the files of the dataset folder through os.Root, so no
// path can lead outside it.
type localRoot struct{ r *os.Root }

func openLocalRoot(path string) (*localRoot, error) {
	r, err := os.OpenRoot(path)
	if err != nil {
		return nil, err
	}
	return &localRoot{r: r}, nil
}

func (l *localRoot) close() { _ = l.r.Close() }

// localFile is one open dataset file.
type localFile struct {
	*os.File
	id    fileID
	mtime time.Time
}

// open opens f and vouches that the descriptor is the regular file at its
// path (not a link to one, nor a file swapped in since), with the size and
// modification time the pre-flight saw and, when want is given, the same
// file as want.
func (l *localRoot) open(f datafile.File, want *fileID) (*localFile, error) {
	src := filepath.FromSlash(f.Source())
	fh, err := l.r.Open(src)
	if err != nil {
		return nil, exitcode.Errorf(exitcode.Local, "reading %s: %w", f.Source(), err)
	}
	info, err := fh.Stat()
	if err == nil {
		var lst os.FileInfo
		lst, err = l.r.Lstat(src)
		if err == nil && (!lst.Mode().IsRegular() || !info.Mode().IsRegular() || !os.SameFile(lst, info) || info.Size() != f.Size ||
			(want != nil && !os.SameFile(info, want.info)) || (!f.ModTime.IsZero() && !info.ModTime().Equal(f.ModTime))) {
			err = changed(f)
		}
	}
	if err != nil {
		_ = fh.Close()
		return nil, exitcode.Wrap(exitcode.Local, err)
	}
	return &localFile{File: fh, id: fileID{info}, mtime: info.ModTime()}, nil
}

// seek moves the read offset to off bytes from the start.
func (f *localFile) seek(off int64) error {
	if off == 0 {
		return nil
	}
	_, err := f.Seek(off, io.SeekStart)
	return err
}

// unchanged says the file still has the size and modification time it had
// when opened: nothing wrote to it while it was read.
func (f *localFile) unchanged() bool {
	info, err := f.Stat()
	return err == nil && info.Size() == f.id.info.Size() && info.ModTime().Equal(f.mtime)
}
