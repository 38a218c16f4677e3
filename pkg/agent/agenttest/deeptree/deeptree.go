//go:build linux

// Package deeptree plants the folder tree a hostile tenant could leave on
// the shared volume: thousands of levels of 255-byte names, far past
// PATH_MAX, for tests of the agent and of the plugin on a real volume.
package deeptree

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// Plant makes a chain of levels folders of 255-byte names under parent,
// each holding a small file "f", built descriptor by descriptor. With
// uid >= 0 every folder and file is given to uid and gid.
func Plant(parent string, levels, uid, gid int) error {
	fd, err := unix.Open(parent, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening %s: %w", parent, err)
	}
	defer func() { _ = unix.Close(fd) }()
	for i := range levels {
		name := fmt.Sprintf("%05d%s", i, strings.Repeat("d", 250))
		if err := unix.Mkdirat(fd, name, 0o755); err != nil {
			return fmt.Errorf("level %d: %w", i, err)
		}
		ffd, err := unix.Openat(fd, "f", unix.O_CREAT|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
		if err != nil {
			return fmt.Errorf("level %d: %w", i, err)
		}
		if uid >= 0 {
			err = unix.Fchown(ffd, uid, gid)
			if err == nil {
				err = unix.Fchownat(fd, name, uid, gid, unix.AT_SYMLINK_NOFOLLOW)
			}
		}
		_ = unix.Close(ffd)
		if err != nil {
			return fmt.Errorf("level %d: %w", i, err)
		}
		next, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("level %d: %w", i, err)
		}
		_ = unix.Close(fd)
		fd = next
	}
	return nil
}
