//go:build unix

package dataset

import (
	"errors"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// folder is a folder of the dataset held open, so that each of its files
// is looked up by name from the folder's descriptor (fstatat, openat)
// instead of resolving the whole path again: for a million texts that is
// a million path walks saved twice.
type folder struct {
	fd   int
	path string
}

// openFolder opens the folder path, refusing a link put in its place.
func openFolder(path string) (folder, error) {
	for {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return folder{fd: -1}, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return folder{fd: fd, path: path}, nil
	}
}

func (d folder) close() {
	if d.fd >= 0 {
		_ = unix.Close(d.fd)
	}
}

// stat looks at the entry name without following a link.
func (d folder) stat(name string) (fileStat, error) {
	var st unix.Stat_t
	for {
		err := unix.Fstatat(d.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fileStat{}, &os.PathError{Op: "lstat", Path: filepath.Join(d.path, name), Err: err}
		}
		return statOf(&st), nil
	}
}

// open opens the file name for reading, as openRead does, and returns
// what fstat said of the open descriptor: the file that is read.
func (d folder) open(name string) (rawFile, fileStat, error) {
	path := filepath.Join(d.path, name)
	for {
		fd, err := unix.Openat(d.fd, name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if errors.Is(err, unix.ELOOP) {
			return rawFile{}, fileStat{}, &os.PathError{Op: "open", Path: path, Err: errNotRegular}
		}
		if err != nil {
			return rawFile{}, fileStat{}, &os.PathError{Op: "open", Path: path, Err: err}
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
			_ = unix.Close(fd)
			if err == nil {
				err = errNotRegular
			}
			return rawFile{}, fileStat{}, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return rawFile{fd: fd, path: path}, statOf(&st), nil
	}
}

// statPath stats path, following links (the executable's path may be one).
func statPath(path string) (fileStat, error) {
	var st unix.Stat_t
	for {
		err := unix.Stat(path, &st)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fileStat{}, &os.PathError{Op: "stat", Path: path, Err: err}
		}
		return statOf(&st), nil
	}
}

// openNoFollow opens a cache file without following a link or waiting on
// a FIFO put in its place.
const openNoFollow = unix.O_NOFOLLOW | unix.O_NONBLOCK

func statOf(st *unix.Stat_t) fileStat {
	return fileStat{
		regular: st.Mode&unix.S_IFMT == unix.S_IFREG,
		key: fileKey{dev: uint64(st.Dev), ino: uint64(st.Ino), size: st.Size, //nolint:unconvert // Dev is not uint64 on every unix
			mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano()},
		keyed: true,
	}
}
