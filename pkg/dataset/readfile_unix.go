//go:build unix

package dataset

import (
	"errors"
	"io"
	"os"
	"syscall"
)

// rawFile reads a small file with plain system calls: a file opened with
// os.Open is also set non-blocking and offered to the network poller,
// which for a regular file is three more calls that a pre-flight of tens
// of thousands of annotations pays for nothing.
type rawFile struct {
	fd   int
	path string
}

// openRead opens a file of the dataset that the walk saw as a regular file.
// Whatever took its place since (a link, a FIFO, a device) is refused
// rather than followed or waited on: O_NOFOLLOW, O_NONBLOCK and a type
// check of the open descriptor.
func openRead(path string) (rawFile, error) {
	for {
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
		if err == syscall.EINTR {
			continue
		}
		if err == syscall.ELOOP {
			return rawFile{}, &os.PathError{Op: "open", Path: path, Err: errNotRegular}
		}
		if err != nil {
			return rawFile{}, &os.PathError{Op: "open", Path: path, Err: err}
		}
		var st syscall.Stat_t
		if err := syscall.Fstat(fd, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG {
			_ = syscall.Close(fd)
			if err == nil {
				err = errNotRegular
			}
			return rawFile{}, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return rawFile{fd: fd, path: path}, nil
	}
}

// errNotRegular: the file became a link or something other than a file
// after the walk saw it.
var errNotRegular = errors.New("no longer a regular file (replaced since the folder was listed)")

func (f rawFile) read(p []byte) (int, error) {
	for {
		n, err := syscall.Read(f.fd, p)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return 0, &os.PathError{Op: "read", Path: f.path, Err: err}
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// Read implements io.Reader, for the readers of CSV and image headers.
func (f rawFile) Read(p []byte) (int, error) { return f.read(p) }

// ReadAt implements io.ReaderAt (pread), for a look at an image's end.
func (f rawFile) ReadAt(p []byte, off int64) (int, error) {
	for {
		n, err := syscall.Pread(f.fd, p, off)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return 0, &os.PathError{Op: "read", Path: f.path, Err: err}
		case n < len(p):
			return n, io.EOF
		}
		return n, nil
	}
}

// size is the open file's length.
func (f rawFile) size() (int64, error) {
	var st syscall.Stat_t
	if err := syscall.Fstat(f.fd, &st); err != nil {
		return 0, &os.PathError{Op: "stat", Path: f.path, Err: err}
	}
	return st.Size, nil
}

func (f rawFile) close() { _ = syscall.Close(f.fd) }
