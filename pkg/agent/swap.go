//go:build linux

package agent

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
)

// recoverSwap finishes a swap that was cut short between its two renames:
// with no staged copy, the copy set aside is put back; beside a staged copy
// it is removed.
func (s *stager) recoverSwap() {
	restoreOld(s.staging, s.table)
}

// restoreOld puts a set-aside copy of table back when the staged copy is
// missing, and removes set-aside copies otherwise.
func restoreOld(staging *dir, table string) {
	names, err := staging.names()
	if err != nil {
		return
	}
	prefix := proto.OldPrefix + table + "-"
	for _, n := range names {
		if !strings.HasPrefix(n, prefix) || !proto.ValidTable(table) {
			continue
		}
		st, err := staging.stat(n)
		if err != nil || !isDir(st) || st.Uid != uint32(os.Geteuid()) {
			continue
		}
		if _, err := staging.stat(table); errors.Is(err, fs.ErrNotExist) {
			if staging.rename(n, staging, table) == nil {
				continue
			}
		}
		_ = staging.removeAll(n)
	}
}

// writeSmall replaces the file name in d with data: written under a fresh
// random name (created exclusively, never through a link) and synced, then
// renamed over it.
func writeSmall(d *dir, name string, data []byte) error {
	return writeStream(d, name, func(w *bufio.Writer) { _, _ = w.Write(data) })
}

// writeStream replaces the file name in d with what write writes: under a
// fresh random name, then renamed over it.
func writeStream(d *dir, name string, write func(w *bufio.Writer)) error {
	tmp := "." + name + ".tmp-" + randomSuffix()
	f, err := d.create(tmp, 0o644)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 64<<10)
	write(w)
	werr := w.Flush()
	if werr == nil {
		werr = f.Sync()
	}
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = d.replaceFile(tmp, name)
	}
	if werr != nil {
		_ = d.removeEntry(tmp)
	}
	return werr
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// dropFolders removes the folders of the partial copy that no file of the
// plan sits in: an earlier push's folder would otherwise reach the staged
// copy empty, as a class nobody pushed.
func (s *stager) dropFolders(plan *planTable) error {
	keep := map[string]bool{}
	for i := range plan.files {
		if folder, _ := split(plan.files[i].rel); folder != "" {
			keep[folder] = true
		}
	}
	names, err := s.data.names()
	if err != nil {
		return err
	}
	for _, n := range names {
		if keep[n] {
			continue
		}
		if st, err := s.data.stat(n); err == nil && isDir(st) {
			if err := s.data.removeAll(n); err != nil {
				return err
			}
		}
	}
	return nil
}

// swap puts the verified copy in place of the staged one. Where the
// filesystem can, both are exchanged in one step; otherwise the staged copy
// is set aside first and put back if the second rename fails. The manifest
// of the new copy is written beside it.
func (s *stager) swap() error {
	dn := s.dataName()
	// The new copy's identity, to find it at the table's path afterwards.
	var newCopy unix.Stat_t
	if err := unix.Fstat(s.data.fd, &newCopy); err != nil {
		return &fs.PathError{Op: "stat", Path: s.data.name, Err: err}
	}
	_, err := s.staging.stat(s.table)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := s.partial.rename(dn, s.staging, s.table); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return s.claimed()
			}
			return failf(proto.KindSwap, "cannot move the new copy in place: %v; nothing was changed", err)
		}
	case err != nil:
		return err
	default:
		err := unix.Renameat2(s.partial.fd, dn, s.staging.fd, s.table, unix.RENAME_EXCHANGE)
		switch {
		case errors.Is(err, unix.ENOENT):
			return s.claimed()
		case err != nil:
			if err := s.swapByTwoRenames(); err != nil {
				return err
			}
		}
	}
	beforeProof()
	// The swap is done only where the ingestor reads: the staging folder
	// still at its path and the new copy at the table's name in it.
	if !s.stagingInPlace() {
		return s.stagingReplaced("during the swap: the new copy went into the folder this push had opened, which is no longer at that path")
	}
	if st, err := s.staging.stat(s.table); err != nil || st.Dev != newCopy.Dev || st.Ino != newCopy.Ino {
		return failf(proto.KindSwap, "%s/%s/%s is not the copy this push swapped in (another push or workload replaced it right after the swap): push again", s.root, proto.StagingDir, s.table)
	}
	// What the exchange left under this push's name is the previous copy:
	// removed first, so the links it shared with the new copy are gone
	// before the manifest records each file's link count and times. Other
	// pushes' entries in the partial folder are theirs to remove.
	s.markStale()
	s.data.close()
	s.data = nil
	if err := s.partial.removeAll(dn); err != nil {
		fmt.Fprintf(s.stderr, "removing the previous copy: %v\n", err)
	}
	afterRemoval()
	s.partial.close()
	s.partial = nil
	_ = unix.Unlinkat(s.staging.fd, s.partialName(), unix.AT_REMOVEDIR)
	if t, err := s.staging.openDir(s.table); err == nil {
		_ = t.touch()
		s.writeManifest(t)
		t.close()
	}
	return nil
}

func (s *stager) swapByTwoRenames() error {
	if err := s.checkClaim(); err != nil {
		return err
	}
	old := proto.OldPrefix + s.table + "-" + randomSuffix()
	if err := s.staging.rename(s.table, s.staging, old); err != nil {
		return failf(proto.KindSwap, "cannot move the previous copy aside: %v; nothing was changed", err)
	}
	if err := s.partial.rename(s.dataName(), s.staging, s.table); err != nil {
		if rerr := s.staging.rename(old, s.staging, s.table); rerr != nil {
			return failf(proto.KindSwap, "cannot swap the new copy in (%v) nor put the previous one back (%v): the next push or kubectl tracebloc cleanup restores it", err, rerr)
		}
		if errors.Is(err, fs.ErrNotExist) {
			return s.claimed()
		}
		return failf(proto.KindSwap, "cannot swap the new copy in: %v; the previous copy is back in place", err)
	}
	_ = s.staging.removeAll(old)
	return nil
}

// afterRemoval runs once the previous copy is removed, before the manifest
// is written (tests write to a file in between).
var afterRemoval = func() {}

// markStale marks the verified files of the new copy (at the table's name
// now) that are no longer as they were verified. Only a copy with reused
// files needs it: their removal from the previous copy changes their
// stat, so the manifest takes it after that removal, and a write through
// the previous copy's link between the hash and the swap would be recorded
// with the hash taken before it. Files sent were recorded as verified.
func (s *stager) markStale() {
	if !s.relinked || s.verified == nil {
		return
	}
	plan := s.verified
	t, err := s.staging.openDir(s.table)
	if err != nil {
		return
	}
	defer t.close()
	files, err := walk(t, nil)
	if err != nil {
		// Nothing can be said of any file: none is recorded.
		for j := range plan.files {
			plan.files[j].stale = true
		}
		return
	}
	for j := range plan.files {
		plan.files[j].stale = true
	}
	for i := range files.files {
		if j := plan.find(files.folderOf(i), files.files[i].name); j >= 0 && files.files[i].info == plan.files[j].got.info {
			plan.files[j].stale = false
		}
	}
}
