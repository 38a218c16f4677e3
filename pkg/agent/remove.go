//go:build linux

package agent

import (
	"errors"
	"fmt"
	"io/fs"

	"golang.org/x/sys/unix"
)

// Removal of a folder tree whose shape a tenant may have chosen (a tree
// thousands of levels deep, folders of millions of names) in memory that
// does not grow with it: no path is ever built, each level is named only
// relative to the descriptor of the level above, and names are read a
// buffer at a time.
const (
	// openLevels is how many levels keep their descriptor (and the unread
	// rest of their last buffer of names) while the walk is below them.
	// Deeper levels are reopened through ".." on the way back, checked to be
	// the folder that was left.
	openLevels = 64
	// maxLevels bounds the identities kept for the way back (16 bytes each).
	maxLevels = 1 << 20
	// direntBuf is the buffer of names read at once from one folder.
	direntBuf = 32 << 10
)

type fileID struct{ dev, ino uint64 }

// level is one folder of the walk down.
type level struct {
	fd int // -1 once closed to keep openLevels open
	// pending are names read from the folder and not yet handled.
	pending []string
	// changed: entries were removed since the folder was last read from
	// its start; it is read again before it counts as empty (removing
	// while reading may let the folder's cursor skip names).
	changed bool
}

// removeAll removes the directory name and everything under it without
// following any link. A link, file or FIFO where the folder was loses its
// name only.
func (d *dir) removeAll(name string) error {
	fd, err := unix.Openat(d.fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	switch {
	case errors.Is(err, unix.ENOENT):
		return nil
	case errors.Is(err, unix.ENOTDIR), errors.Is(err, unix.ELOOP):
		if uerr := unix.Unlinkat(d.fd, name, 0); uerr != nil && !errors.Is(uerr, unix.ENOENT) {
			return &fs.PathError{Op: "remove", Path: d.path(name), Err: uerr}
		}
		return nil
	case err != nil:
		return &fs.PathError{Op: "open", Path: d.path(name), Err: err}
	}
	if err := emptyTree(fd, d.path(name)); err != nil {
		return err
	}
	if err := unix.Unlinkat(d.fd, name, unix.AT_REMOVEDIR); err != nil && !errors.Is(err, unix.ENOENT) {
		return &fs.PathError{Op: "remove", Path: d.path(name), Err: err}
	}
	return nil
}

// emptyTree removes everything inside the folder open as top (and closes
// it). where names the folder in messages; what lies below is named by its
// depth, never by a path a tenant could make any length or fill with
// escapes.
func emptyTree(top int, where string) (err error) {
	var st unix.Stat_t
	if err := unix.Fstat(top, &st); err != nil {
		_ = unix.Close(top)
		return &fs.PathError{Op: "stat", Path: where, Err: err}
	}
	ids := []fileID{{uint64(st.Dev), st.Ino}}
	levels := []level{{fd: top}}
	defer func() {
		for _, l := range levels {
			if l.fd >= 0 {
				_ = unix.Close(l.fd)
			}
		}
	}()
	fail := func(op string, depth int, e error) error {
		p := where
		if depth > 0 {
			p = fmt.Sprintf("%s (%d levels down)", where, depth)
		}
		return &fs.PathError{Op: op, Path: p, Err: e}
	}
	buf := make([]byte, direntBuf)
	for len(levels) > 0 {
		depth := len(levels) - 1
		cur := &levels[depth]
		if len(cur.pending) == 0 {
			n, rerr := unix.Getdents(cur.fd, buf)
			if rerr != nil {
				return fail("read", depth, rerr)
			}
			if n > 0 {
				_, _, cur.pending = unix.ParseDirent(buf[:n], -1, cur.pending[:0])
				continue
			}
			if cur.changed {
				cur.changed = false
				if _, serr := unix.Seek(cur.fd, 0, 0); serr != nil {
					return fail("read", depth, serr)
				}
				continue
			}
			// This folder is empty: back up; the folder above removes it
			// when it reads its name again.
			if depth == 0 {
				return nil
			}
			up := &levels[depth-1]
			if up.fd < 0 {
				fd, oerr := unix.Openat(cur.fd, "..", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
				if oerr != nil {
					return fail("open", depth-1, oerr)
				}
				var pst unix.Stat_t
				if serr := unix.Fstat(fd, &pst); serr != nil || (fileID{uint64(pst.Dev), pst.Ino}) != ids[depth-1] {
					_ = unix.Close(fd)
					return fail("remove", depth, errors.New("the folder was moved out of the tree while it was removed"))
				}
				up.fd = fd
			}
			_ = unix.Close(cur.fd)
			levels = levels[:depth]
			ids = ids[:depth]
			up.changed = true
			continue
		}
		name := cur.pending[0]
		cur.pending = cur.pending[1:]
		uerr := unix.Unlinkat(cur.fd, name, 0)
		if uerr == nil || errors.Is(uerr, unix.ENOENT) {
			cur.changed = true
			continue
		}
		if !errors.Is(uerr, unix.EISDIR) && !errors.Is(uerr, unix.EPERM) {
			return fail("remove", depth+1, uerr)
		}
		rerr := unix.Unlinkat(cur.fd, name, unix.AT_REMOVEDIR)
		switch {
		case rerr == nil, errors.Is(rerr, unix.ENOENT):
			cur.changed = true
			continue
		case errors.Is(rerr, unix.ENOTDIR):
			return fail("remove", depth+1, uerr) // not a folder: the unlink's refusal stands
		case !errors.Is(rerr, unix.ENOTEMPTY) && !errors.Is(rerr, unix.EEXIST):
			return fail("remove", depth+1, rerr)
		}
		// A folder with entries: go down into it.
		fd, oerr := unix.Openat(cur.fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if errors.Is(oerr, unix.ENOENT) || errors.Is(oerr, unix.ENOTDIR) || errors.Is(oerr, unix.ELOOP) {
			// Replaced meanwhile: read the folder again.
			cur.changed = true
			continue
		}
		if oerr != nil {
			return fail("open", depth+1, oerr)
		}
		if len(ids) >= maxLevels {
			_ = unix.Close(fd)
			return fail("remove", depth+1, fmt.Errorf("the tree is deeper than %d levels", maxLevels))
		}
		var cst unix.Stat_t
		if serr := unix.Fstat(fd, &cst); serr != nil {
			_ = unix.Close(fd)
			return fail("stat", depth+1, serr)
		}
		// Only so many levels stay open: the one furthest up is closed
		// and its unread names dropped (it is read again from its start).
		if far := len(levels) - openLevels; far >= 0 && levels[far].fd >= 0 {
			_ = unix.Close(levels[far].fd)
			levels[far].fd = -1
			levels[far].pending = nil
			levels[far].changed = true
		}
		ids = append(ids, fileID{uint64(cst.Dev), cst.Ino})
		levels = append(levels, level{fd: fd})
	}
	return nil
}
