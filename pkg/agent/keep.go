//go:build linux

package agent

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
)

// An unchanged push keeps the staged copy where it is: linking a million
// files into a new copy, hashing each and swapping took longer than the
// first push. The plugin asks for it (the plan's keep) only when every file
// of its plan is one the staged copy holds with the same hash, nothing else
// is there, and the manifest is one it saw a push of its own write: the
// seal the agent reported after that swap (content hash, device, inode and
// change time of the manifest).
//
// What the agent still checks, after the plan arrived: a fresh stat walk
// of the staged copy against the manifest, file by file (size, mtime,
// ctime, inode, this uid, one link, a regular file, no other entry, no
// empty folder), and the manifest against the seal. A write in place
// changes a file's mtime and ctime; putting the mtime back changes the
// ctime again, which no call of a tenant can set; a file replaced by
// rename or a link has another inode or link count. A tenant that also
// rewrites the manifest to match changes the manifest's ctime or inode,
// so its seal is no longer the one the plugin recorded. Any difference
// and the push takes the full path: the files are linked and hashed again,
// and a changed file is found and sent.

// sealOf names one manifest as read: its content's SHA-256, device, inode
// and change time in nanoseconds.
func sealOf(sum []byte, st *unix.Stat_t) string {
	return fmt.Sprintf("%x-%d-%d-%d", sum, st.Dev, st.Ino, st.Ctim.Nano())
}

// readSealed reads the manifest name into files, as readManifest does,
// and returns its seal ("" when it is missing or not one to trust).
func readSealed(staging *dir, name string, files *fileList) string {
	f, st, err := staging.openFile(name)
	if err != nil {
		return ""
	}
	defer f.Close()
	h := sha256.New()
	if !readManifestLines(io.TeeReader(f, h), files) {
		for i := range files.files {
			files.files[i].known = false
		}
		return ""
	}
	// The reader stops at the bound, not at the end: a longer manifest is
	// not sealed.
	if n, _ := f.Read(make([]byte, 1)); n > 0 {
		return ""
	}
	return sealOf(h.Sum(nil), st)
}

// sealWritten returns the seal of the manifest name when it holds what
// this push wrote (sum: the SHA-256 of it), "" otherwise.
func sealWritten(staging *dir, name string, sum []byte) string {
	f, st, err := staging.openFile(name)
	if err != nil {
		return ""
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(f, maxPlan+1)); err != nil || string(h.Sum(nil)) != string(sum) {
		return ""
	}
	return sealOf(sum, st)
}

// kept is what the check of a staged copy kept in place found.
type kept struct {
	files int
	bytes int64
	// dev, ino identify the table's folder as checked.
	dev, ino uint64
}

// keepStaged checks the staged copy against the plan for a push that
// keeps it in place (plan.keep is the seal the plugin recorded); false
// sends the push down the full path.
func (s *stager) keepStaged(plan *planTable) (kept, bool) {
	k, l, ok := s.checkSealed(plan.keep)
	if !ok || len(l.files) != len(plan.files) {
		return k, false
	}
	for i := range l.files {
		f := &l.files[i]
		// The plan names each path once and has as many files as the copy:
		// every staged file found in it makes the two the same set.
		j := plan.find(l.folderOf(i), f.name)
		if j < 0 || !plan.files[j].reuse || plan.files[j].open || plan.files[j].want != f.sum {
			return k, false
		}
	}
	return k, true
}

// checkSealed walks the staged copy and checks it against its manifest,
// which must carry seal: every file is there as the manifest recorded it
// (size, times, inode), this uid's, with one link and a name the staged
// copy may hold, and nothing else is (no other entry, no empty folder).
// It returns the copy's files with their hashes from the manifest.
func (s *stager) checkSealed(seal string) (kept, *fileList, bool) {
	var k kept
	d, err := s.staging.openDir(s.table)
	if err != nil {
		return k, nil, false
	}
	defer d.close()
	var own unix.Stat_t
	if unix.Fstat(d.fd, &own) != nil || own.Uid != uint32(os.Geteuid()) {
		return k, nil, false
	}
	k.dev, k.ino = own.Dev, own.Ino
	l := &fileList{folders: []string{""}}
	odd := false
	err = walkEach(d, func(*dir, string, string, *unix.Stat_t) { odd = true }, func(folder string, names int) {
		// An empty folder would reach the ingestor as a class nobody
		// pushed; the full path drops it.
		odd = odd || names == 0
		l.folders = append(l.folders, folder)
		l.files = slices.Grow(l.files, names)
	}, func(folder, name string, info fileInfo) {
		l.files = append(l.files, listed{name: name, folder: int32(len(l.folders) - 1), info: info})
	})
	if err != nil || odd || len(l.files) == 0 {
		return k, nil, false
	}
	l.sort()
	if seal == "" || readSealed(s.staging, s.manifestName(), l) != seal {
		return k, nil, false
	}
	uid := uint32(os.Geteuid())
	for i := range l.files {
		f := &l.files[i]
		if !f.known || f.info.uid != uid || f.info.nlink != 1 || proto.CheckRel(l.rel(i)) != nil {
			return k, nil, false
		}
		k.bytes += f.info.size
	}
	k.files = len(l.files)
	return k, l, true
}

// confirmSealed is the inventory of a push that asked for the seal it
// recorded (--sealed): when nothing of an interrupted push is left and
// the staged copy is the sealed one with as many files as the push has
// (--sealed-files), checked file by file, the inventory
// says so with the count of files instead of listing them, and a plan
// that keeps that copy may follow. Hostile changes to the copy or its
// manifest fail the check and the inventory lists the files as usual.
func (s *stager) confirmSealed(partial *fileList) bool {
	if s.sealed == "" || s.cut != nil || len(partial.files) > 0 {
		return false
	}
	k, _, ok := s.checkSealed(s.sealed)
	if !ok || k.files != s.sealedFiles {
		return false
	}
	s.confirmed = &k
	return true
}

// keepConfirmed takes a plan that keeps the copy the inventory confirmed
// without naming its files; the plan's count must be the copy's.
func (s *stager) keepConfirmed(plan *planTable) (kept, error) {
	if s.confirmed == nil || plan.keep != s.sealed || plan.sealed != s.confirmed.files || len(plan.files) > 0 {
		return kept{}, failf(proto.KindStream, "the plan keeps a staged copy of %d files the inventory did not confirm: push again", plan.sealed)
	}
	return *s.confirmed, nil
}

// keptInPlace confirms, at the swap, that the table's folder is still the
// one checked, and marks it as pushed again. A copy the inventory
// confirmed is walked again first: its check ran before the plugin made
// its plan, and a file written, swapped or added on the volume since then
// would be reported kept (a plan that names its files had its walk after
// the plan arrived, as late as this one).
func (s *stager) keptInPlace(k kept) error {
	if s.confirmed != nil {
		if again, _, ok := s.checkSealed(s.sealed); !ok || again != k {
			return failf(proto.KindSwap, "%s/%s/%s changed on the volume while the push checked it (another push or workload): push again, the next push sends what differs", s.root, proto.StagingDir, s.table)
		}
	}
	t, err := s.staging.openDir(s.table)
	var st unix.Stat_t
	if err == nil && unix.Fstat(t.fd, &st) == nil && st.Dev == k.dev && st.Ino == k.ino {
		_ = t.touch()
		t.close()
		return nil
	}
	if t != nil {
		t.close()
	}
	return failf(proto.KindSwap, "%s/%s/%s was replaced while the push checked it (another push or workload): push again", s.root, proto.StagingDir, s.table)
}
