//go:build !unix

package dataset

import (
	"errors"
	"os"
	"path/filepath"
)

// folder is a folder of the dataset; here its files are found by path.
type folder struct{ path string }

func openFolder(path string) (folder, error) {
	if _, err := os.Lstat(path); err != nil {
		return folder{}, err
	}
	return folder{path: path}, nil
}

func (folder) close() {}

func (d folder) stat(name string) (fileStat, error) {
	info, err := os.Lstat(filepath.Join(d.path, name))
	if err != nil {
		return fileStat{}, err
	}
	return fileStat{regular: info.Mode().IsRegular(), key: fileKey{size: info.Size(), mtime: info.ModTime().UnixNano()}}, nil
}

func (d folder) open(name string) (rawFile, fileStat, error) {
	f, err := openRead(filepath.Join(d.path, name))
	if err != nil {
		return rawFile{}, fileStat{}, err
	}
	info, err := f.f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		f.close()
		if err == nil {
			err = &os.PathError{Op: "open", Path: filepath.Join(d.path, name), Err: errNotRegular}
		}
		return rawFile{}, fileStat{}, err
	}
	// No change time here: keyed stays false and nothing is cached.
	return f, fileStat{regular: true, key: fileKey{size: info.Size(), mtime: info.ModTime().UnixNano()}}, nil
}

// errNotRegular: the file became something other than a file after the
// walk saw it.
var errNotRegular = errors.New("no longer a regular file (replaced since the folder was listed)")

// statPath gives no change time here: nothing is cached.
func statPath(path string) (fileStat, error) {
	info, err := os.Stat(path)
	if err != nil {
		return fileStat{}, err
	}
	return fileStat{regular: info.Mode().IsRegular()}, nil
}

// openNoFollow: the cache file is looked at before it is opened here.
const openNoFollow = 0
