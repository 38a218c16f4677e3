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

func (f rawFile) close() { _ = f.f.Close() }
