//go:build unix

package transfer

import (
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tracebloc/kubectl-tracebloc/pkg/datafile"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// fileID is which file was read: device and inode.
type fileID struct{ dev, ino uint64 }

// localRoot reads the files of the dataset folder with plain system calls.
// Each folder is opened once, without following a link, and each file
// relative to its folder with O_NOFOLLOW: no path leads out of the dataset,
// and a file or folder swapped for a link is refused by the open itself.
// A file opened this way is the very file at its path, so no second lookup
// is needed to compare the two. Safe for concurrent use.
type localRoot struct {
	path string
	mu   sync.Mutex
	dirs map[string]int
}

// openLocalRoot opens the dataset folder. The folder itself may be given
// through a link (a dataset kept on another disk), as the pre-flight
// accepts it; only what lies inside it must not be one.
func openLocalRoot(path string) (*localRoot, error) {
	var fd int
	var err error
	for {
		fd, err = unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	return &localRoot{path: path, dirs: map[string]int{"": fd}}, nil
}

func (l *localRoot) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, fd := range l.dirs {
		_ = unix.Close(fd)
	}
	l.dirs = nil
}

// dir returns the descriptor of the folder rel ("" is the root), opening
// each level once.
func (l *localRoot) dir(rel string) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if fd, ok := l.dirs[rel]; ok {
		return fd, nil
	}
	fd, at := l.dirs[""], ""
	for name := range strings.SplitSeq(rel, "/") {
		at = path.Join(at, name)
		next, ok := l.dirs[at]
		if !ok {
			var err error
			if next, err = openNoFollow(fd, name, unix.O_RDONLY|unix.O_DIRECTORY); err != nil {
				return -1, err
			}
			l.dirs[at] = next
		}
		fd = next
	}
	return fd, nil
}

func openNoFollow(dirfd int, name string, flags int) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return fd, err
	}
}

// localFile is one open dataset file.
type localFile struct {
	fd    int
	name  string
	id    fileID
	mtime time.Time
	// at is what fstat said as the file was opened.
	at unix.Stat_t
}

func (f *localFile) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(f.fd, p)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return 0, fmt.Errorf("reading %s: %w", f.name, err)
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

func (f *localFile) Close() error { return unix.Close(f.fd) }

// seek moves the read offset to off bytes from the start.
func (f *localFile) seek(off int64) error {
	if off == 0 {
		return nil
	}
	_, err := unix.Seek(f.fd, off, io.SeekStart)
	return err
}

// unchanged says the file still has the size and modification time it had
// when opened: nothing wrote to it while it was read. (Not the ctime: a
// change of owner, mode or extended attributes, which an indexer may make,
// leaves the content as it was.)
func (f *localFile) unchanged() bool {
	var st unix.Stat_t
	return unix.Fstat(f.fd, &st) == nil && st.Size == f.at.Size && st.Mtim == f.at.Mtim
}

// open opens f and vouches that the descriptor is a regular file with the
// size and modification time the pre-flight saw and, when want is given,
// the same file as want. Anything else is exit 3, naming the file.
func (l *localRoot) open(f datafile.File, want *fileID) (*localFile, error) {
	src := f.Source()
	folder, name := "", src
	if i := strings.LastIndexByte(src, '/'); i >= 0 {
		folder, name = src[:i], src[i+1:]
	}
	dfd, err := l.dir(folder)
	if err == nil {
		var fd int
		if fd, err = openNoFollow(dfd, name, unix.O_RDONLY); err == nil {
			var st unix.Stat_t
			if err = unix.Fstat(fd, &st); err == nil {
				lf := &localFile{fd: fd, name: src, id: fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)},
					mtime: time.Unix(int64(st.Mtim.Sec), int64(st.Mtim.Nsec)), at: st}
				if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size != f.Size || (want != nil && lf.id != *want) ||
					(!f.ModTime.IsZero() && !lf.mtime.Equal(f.ModTime)) {
					_ = unix.Close(fd)
					return nil, changed(f)
				}
				return lf, nil
			}
			_ = unix.Close(fd)
		}
	}
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ENXIO) {
		// A link, or a folder that became something else, where the
		// pre-flight saw a file.
		return nil, changed(f)
	}
	return nil, exitcode.Errorf(exitcode.Local, "reading %s: %w", src, err)
}
