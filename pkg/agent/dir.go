//go:build linux

package agent

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"

	"golang.org/x/sys/unix"
)

// dir is an open directory. Every operation names an entry relative to it,
// never follows a symbolic link, and never opens anything but a regular file
// or a directory: what others planted on the shared volume cannot redirect a
// write, a read or a delete.
type dir struct {
	fd   int
	name string // for messages: the path on the volume
}

// errUnsafe marks an entry that is not what the agent expects (a link, a
// FIFO, a device, another owner's file where only ours may be).
var errUnsafe = errors.New("unsafe entry")

type unsafeError struct {
	path, what string
}

func (e *unsafeError) Error() string { return fmt.Sprintf("%s is %s", e.path, e.what) }

func (e *unsafeError) Unwrap() error { return errUnsafe }

func openRoot(p string) (*dir, error) {
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	return &dir{fd: fd, name: p}, nil
}

func (d *dir) path(name string) string { return path.Join(d.name, name) }

func (d *dir) close() {
	if d != nil && d.fd >= 0 {
		_ = unix.Close(d.fd)
		d.fd = -1
	}
}

// stat describes name itself (a link is reported as a link).
func (d *dir) stat(name string) (*unix.Stat_t, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(d.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return nil, &fs.PathError{Op: "stat", Path: d.path(name), Err: err}
	}
	return &st, nil
}

func isDir(st *unix.Stat_t) bool  { return st.Mode&unix.S_IFMT == unix.S_IFDIR }
func isFile(st *unix.Stat_t) bool { return st.Mode&unix.S_IFMT == unix.S_IFREG }

func kindOf(st *unix.Stat_t) string {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFLNK:
		return "a symbolic link"
	case unix.S_IFIFO:
		return "a FIFO"
	case unix.S_IFSOCK:
		return "a socket"
	case unix.S_IFCHR, unix.S_IFBLK:
		return "a device"
	case unix.S_IFDIR:
		return "a folder"
	}
	return "a file"
}

// openDir opens the directory name inside d without following a link.
func (d *dir) openDir(name string) (*dir, error) {
	fd, err := unix.Openat(d.fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
			if st, serr := d.stat(name); serr == nil {
				return nil, &unsafeError{path: d.path(name), what: kindOf(st) + ", not a folder"}
			}
		}
		return nil, &fs.PathError{Op: "open", Path: d.path(name), Err: err}
	}
	return &dir{fd: fd, name: d.path(name)}, nil
}

// ensureDir opens the directory name, creating it (mode 0755) if missing.
func (d *dir) ensureDir(name string) (*dir, error) {
	if err := unix.Mkdirat(d.fd, name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, &fs.PathError{Op: "mkdir", Path: d.path(name), Err: err}
	}
	return d.openDir(name)
}

// openFile opens a regular file for reading. O_NONBLOCK keeps a FIFO from
// hanging the open; the type check then refuses it.
func (d *dir) openFile(name string) (*os.File, *unix.Stat_t, error) {
	fd, err := unix.Openat(d.fd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			return nil, nil, &unsafeError{path: d.path(name), what: "a symbolic link"}
		}
		return nil, nil, &fs.PathError{Op: "open", Path: d.path(name), Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		_ = unix.Close(fd)
		return nil, nil, &fs.PathError{Op: "stat", Path: d.path(name), Err: err}
	}
	if !isFile(&st) {
		_ = unix.Close(fd)
		return nil, nil, &unsafeError{path: d.path(name), what: kindOf(&st) + ", not a regular file"}
	}
	// Reads of a regular file never block; clear the flag all the same.
	if err := unix.SetNonblock(fd, false); err != nil {
		_ = unix.Close(fd)
		return nil, nil, err
	}
	return os.NewFile(uintptr(fd), d.path(name)), &st, nil
}

// create makes a new file name, replacing whatever name was: the old entry
// is unlinked (a link or a hard link is dropped, never written through) and
// the new one is created exclusively, so a racing writer cannot slip a link
// in between.
func (d *dir) create(name string, perm uint32) (*os.File, error) {
	fd, err := d.createFD(name, perm)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), d.path(name)), nil
}

// createFD is create returning the bare descriptor. Most names are new, so
// the exclusive create comes first and the unlink only when something is
// in the way.
func (d *dir) createFD(name string, perm uint32) (int, error) {
	const flags = unix.O_WRONLY | unix.O_CREAT | unix.O_EXCL | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := unix.Openat(d.fd, name, flags, perm)
	if errors.Is(err, unix.EEXIST) {
		if err := d.removeEntry(name); err != nil {
			return -1, err
		}
		fd, err = unix.Openat(d.fd, name, flags, perm)
	}
	if err != nil {
		return -1, &fs.PathError{Op: "create", Path: d.path(name), Err: err}
	}
	return fd, nil
}

// removeEntry unlinks name if it is not a directory, or removes the
// directory tree if it is; a missing entry is fine.
func (d *dir) removeEntry(name string) error {
	err := unix.Unlinkat(d.fd, name, 0)
	switch {
	case err == nil, errors.Is(err, unix.ENOENT):
		return nil
	case errors.Is(err, unix.EISDIR), errors.Is(err, unix.EPERM):
		st, serr := d.stat(name)
		if serr != nil || !isDir(st) {
			return &fs.PathError{Op: "remove", Path: d.path(name), Err: err}
		}
		return d.removeAll(name)
	}
	return &fs.PathError{Op: "remove", Path: d.path(name), Err: err}
}

// names lists the entries of d.
func (d *dir) names() ([]string, error) {
	// A duplicate descriptor: os.File takes ownership and closes it.
	fd, err := unix.Dup(d.fd)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), d.name)
	defer f.Close()
	if _, err := f.Seek(0, 0); err != nil {
		return nil, err
	}
	var names []string
	for {
		batch, err := f.Readdirnames(4096)
		names = append(names, batch...)
		if errors.Is(err, io.EOF) || err == nil && len(batch) == 0 {
			return names, nil
		}
		if err != nil {
			return nil, err
		}
		if len(names) > maxDirEntries {
			return nil, &fs.PathError{Op: "read", Path: d.name, Err: fmt.Errorf("more than %d entries: not a folder the agent made", maxDirEntries)}
		}
	}
}

// maxDirEntries bounds the names read from one folder at once: a copy
// holds at most maxPlanEntries files, and a planted folder of millions of
// names is refused rather than listed (a tree is removed without listing).
const maxDirEntries = maxPlanEntries + 1024

// rename moves name in d to newName in to, never replacing a directory.
func (d *dir) rename(name string, to *dir, newName string) error {
	if err := unix.Renameat2(d.fd, name, to.fd, newName, unix.RENAME_NOREPLACE); err != nil {
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
			// A filesystem without RENAME_NOREPLACE (some network ones):
			// check, then rename.
			if _, serr := to.stat(newName); serr == nil {
				return &fs.PathError{Op: "rename", Path: to.path(newName), Err: unix.EEXIST}
			}
			err = unix.Renameat(d.fd, name, to.fd, newName)
		}
		if err != nil {
			return &fs.PathError{Op: "rename", Path: d.path(name), Err: err}
		}
	}
	return nil
}

// replaceFile renames the file name over newName (both in d).
func (d *dir) replaceFile(name, newName string) error {
	if err := unix.Renameat(d.fd, name, d.fd, newName); err != nil {
		return &fs.PathError{Op: "rename", Path: d.path(name), Err: err}
	}
	return nil
}

// link makes newName in to a hard link of the regular file name in d (a
// link at name is linked as a link, never followed; callers check the type).
func (d *dir) link(name string, to *dir, newName string) error {
	if err := to.removeEntry(newName); err != nil {
		return err
	}
	if err := unix.Linkat(d.fd, name, to.fd, newName, 0); err != nil {
		return &fs.PathError{Op: "link", Path: d.path(name), Err: err}
	}
	return nil
}

// touch sets the modification time of d itself to now.
func (d *dir) touch() error {
	now := []unix.Timespec{{Nsec: unix.UTIME_NOW}, {Nsec: unix.UTIME_NOW}}
	return unix.UtimesNanoAt(d.fd, ".", now, 0)
}
