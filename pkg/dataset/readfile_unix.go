//go:build unix

package dataset

import (
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

func openRead(path string) (rawFile, error) {
	for {
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return rawFile{}, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return rawFile{fd: fd, path: path}, nil
	}
}

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

func (f rawFile) close() { _ = syscall.Close(f.fd) }
