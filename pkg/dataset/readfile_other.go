//go:build !unix

package dataset

import "os"

// rawFile reads a small file through os.File where plain system calls are
// not the unix ones.
type rawFile struct{ f *os.File }

func openRead(path string) (rawFile, error) {
	f, err := os.Open(path)
	return rawFile{f}, err
}

func (f rawFile) read(p []byte) (int, error) { return f.f.Read(p) }

// Read implements io.Reader, for the readers of CSV and image headers.
func (f rawFile) Read(p []byte) (int, error) { return f.read(p) }

// ReadAt implements io.ReaderAt, for a look at an image's end.
func (f rawFile) ReadAt(p []byte, off int64) (int, error) { return f.f.ReadAt(p, off) }

// size is the open file's length.
func (f rawFile) size() (int64, error) {
	st, err := f.f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

func (f rawFile) close() { _ = f.f.Close() }
