//go:build unix

package transfer

import (
	"cmp"
	"errors"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/tracebloc/kubectl-tracebloc/pkg/datafile"
)

// openNonblock opens a cache file without waiting for a writer, should
// it be a FIFO.
const openNonblock = unix.O_NONBLOCK

// stamp is the part of a file's cache key that neither its identity nor
// the pre-flight's size and mtime give: the ctime. (Every file read is
// checked to have the size and mtime the pre-flight saw.)
type stamp struct{ ctime int64 }

func stampOf(k fileKey) stamp { return stamp{ctime: k.ctime} }

// stamp is what fstat said as the file was opened.
func (f *localFile) stamp() stamp { return stamp{ctime: f.at.Ctim.Nano()} }

// key is the cache key of the file e was hashed from, f as the pre-flight
// saw it; false when its times are unknown.
func (e localEntry) key(f datafile.File) (fileKey, bool) {
	if e.stamp.ctime == 0 || f.ModTime.IsZero() {
		return fileKey{}, false
	}
	return fileKey{dev: e.id.dev, ino: e.id.ino, size: f.Size, mtime: f.ModTime.UnixNano(), ctime: e.stamp.ctime}, true
}

// compareFileID orders two files as the cache's records are: by device,
// then inode.
func compareFileID(a, b fileID) int {
	if c := cmp.Compare(a.dev, b.dev); c != 0 {
		return c
	}
	return cmp.Compare(a.ino, b.ino)
}

// statKey stats f where it is, without opening it or following a link:
// its cache key, when it is a regular file with the size and mtime the
// pre-flight saw.
func (l *localRoot) statKey(f datafile.File) (fileKey, fileID, bool) {
	src := f.Source()
	folder, name := "", src
	if i := strings.LastIndexByte(src, '/'); i >= 0 {
		folder, name = src[:i], src[i+1:]
	}
	dfd, err := l.dir(folder)
	if err != nil {
		return fileKey{}, fileID{}, false
	}
	var st unix.Stat_t
	for {
		err = unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size != f.Size ||
		(!f.ModTime.IsZero() && st.Mtim.Nano() != f.ModTime.UnixNano()) {
		return fileKey{}, fileID{}, false
	}
	id := fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}
	return fileKey{dev: id.dev, ino: id.ino, size: st.Size, mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano()}, id, true
}
