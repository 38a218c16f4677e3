//go:build linux

package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
)

// sweep removes partial copies of other tables that nobody came back for.
func (s *stager) sweep(now time.Time) {
	names, err := s.staging.names()
	if err != nil {
		return
	}
	for _, n := range names {
		t, ok := strings.CutPrefix(n, proto.PartialPrefix)
		if !ok || t == s.table || !proto.ValidTable(t) {
			continue
		}
		st, err := s.staging.stat(n)
		if err != nil || !isDir(st) || st.Uid != uint32(os.Geteuid()) {
			continue
		}
		if now.Sub(time.Unix(0, st.Mtim.Nano())) > PartialMaxAge {
			_ = s.staging.removeAll(n)
		}
	}
}

// claim makes the partial folder this push's. It must be a real folder
// owned by this uid. Each push builds its copy in a data folder of its own
// (data-<hash of its nonce>); what earlier pushes left there is taken over
// by first renaming their folder away, which is the fence: a push whose
// folder was renamed can no longer swap it in, since the swap renames it by
// name. Their whole files are then moved into this push's folder, to resume.
func (s *stager) claim() error {
	var err error
	if s.partial, err = s.staging.ensureDir(s.partialName()); err != nil {
		if errors.Is(err, errUnsafe) {
			// A link or a file planted where the partial folder goes:
			// drop the name (never its target) and start afresh.
			if rerr := s.staging.removeEntry(s.partialName()); rerr != nil {
				return rerr
			}
			s.partial, err = s.staging.ensureDir(s.partialName())
		}
		if err != nil {
			return err
		}
	}
	if err := s.owned(s.partial); err != nil {
		return err
	}
	_ = s.partial.touch()
	s.data, err = s.partial.ensureDir(s.dataName())
	if errors.Is(err, errUnsafe) {
		if rerr := s.partial.removeEntry(s.dataName()); rerr != nil {
			return rerr
		}
		s.data, err = s.partial.ensureDir(s.dataName())
	}
	if err != nil {
		return err
	}
	if err := s.owned(s.data); err != nil {
		return err
	}
	if err := s.lockData(); err != nil {
		return err
	}
	return s.takeOver()
}

// lockData holds the lock of this push's data folder for as long as the
// agent runs: it tells a push of the same table that takes the partial
// copy over that this one is alive and may still write into files of the
// folder, which it must then not adopt. An earlier round of this push may
// take a moment to exit; any other holder means another push took the
// folder over, as does a folder no longer under this push's name.
func (s *stager) lockData() error {
	for wait := time.Now().Add(dataLockWait); ; {
		held, err := tryLock(s.data.fd)
		if err != nil || held {
			break // a volume without locks: no liveness to tell
		}
		if time.Now().After(wait) {
			return s.claimed()
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s.checkClaim()
}

// dataLockWait is how long a round waits for the lock of its own data
// folder, which only an earlier round of the same push, exiting, holds.
const dataLockWait = 5 * time.Second

// tryLock takes the exclusive lock of fd without waiting: false when
// another open file holds it. A filesystem without locks is an error.
func tryLock(fd int) (bool, error) {
	for {
		err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EWOULDBLOCK):
			return false, nil
		}
		return false, err
	}
}

// dataName is this push's data folder inside the partial folder.
func (s *stager) dataName() string {
	h := sha256.Sum256([]byte(s.nonce))
	return proto.PartialData + "-" + hex.EncodeToString(h[:8])
}

// takeOver fences off every other data folder of the partial copy and moves
// its whole files (this uid's, not linked elsewhere) into this push's.
func (s *stager) takeOver() error {
	names, err := s.partial.names()
	if err != nil {
		return err
	}
	uid := uint32(os.Geteuid())
	for _, n := range names {
		if n == s.dataName() || strings.HasPrefix(n, cutPrefix) {
			continue // checkpoints go with their data folder, below
		}
		st, err := s.partial.stat(n)
		if err != nil {
			continue
		}
		if !isDir(st) || st.Uid != uid {
			// Links, files and folders of others: their names go.
			if err := s.partial.removeEntry(n); err != nil && !isDir(st) {
				return err
			}
			continue
		}
		old, err := s.partial.openDir(n)
		if err != nil {
			continue // renamed away by someone else meanwhile
		}
		// A push that still holds its folder's lock is alive: it is fenced
		// off all the same, but the file it is writing (through a
		// descriptor no rename takes away) must not become this push's,
		// nor, after the swap, the staged copy's. None of its files are
		// taken; they go with its folder.
		held, lerr := tryLock(old.fd)
		live := lerr == nil && !held
		// The other push's checkpoint is read before its folder is fenced
		// off: its file keeps its identity as it moves into this push's.
		var cut *checkpoint
		if suffix, ok := strings.CutPrefix(n, proto.PartialData+"-"); ok && !live {
			cut, _ = readCheckpoint(s.partial, cutPrefix+suffix)
		}
		gone := n
		if !strings.HasPrefix(n, goneMark) {
			gone = goneMark + randomSuffix()
			if err := s.partial.rename(n, s.partial, gone); err != nil {
				old.close()
				continue // renamed away by someone else meanwhile
			}
		}
		if !live {
			s.moveFiles(old)
		}
		old.close()
		_ = s.partial.removeAll(gone)
		s.adoptCut(cut)
	}
	// Checkpoints whose folder is gone, or that lost to this push's own.
	for _, n := range names {
		if strings.HasPrefix(n, cutPrefix) && n != s.cutName() {
			_ = s.partial.removeEntry(n)
		}
	}
	return nil
}

// adoptCut makes an earlier push's checkpoint this push's, once its file
// has moved into this push's data folder, unless this push has one of its
// own (the inventory checks the file is still the one it describes).
func (s *stager) adoptCut(c *checkpoint) {
	if c == nil {
		return
	}
	if _, err := s.partial.stat(s.cutName()); !errors.Is(err, fs.ErrNotExist) {
		return
	}
	_ = writeCheckpoint(s.partial, s.cutName(), c)
}

// goneMark names a data folder taken over from another push, on its way out.
const goneMark = ".gone-"

// moveFiles moves the whole files of an earlier push's data folder into
// this push's. A name this push already holds is left where it was.
func (s *stager) moveFiles(old *dir) {
	uid := uint32(os.Geteuid())
	files, err := walk(old, nil)
	if err != nil {
		return
	}
	for i := range files.files {
		fi, rel := files.files[i].info, files.rel(i)
		if fi.uid != uid || fi.nlink != 1 || proto.CheckRel(rel) != nil {
			continue
		}
		src, name, err := parentOf(old, rel)
		if err != nil {
			continue
		}
		folder, _ := split(rel)
		dst := s.data
		if folder != "" {
			dst, err = s.folder(folder)
		}
		if err == nil {
			_ = src.rename(name, dst, name)
			closeUnless(dst, s.data)
		}
		closeUnless(src, old)
	}
}

// owned refuses a folder that another uid owns: its owner could change it
// under the push.
func (s *stager) owned(d *dir) error {
	var st unix.Stat_t
	if err := unix.Fstat(d.fd, &st); err != nil {
		return err
	}
	if st.Uid != uint32(os.Geteuid()) {
		return &unsafeError{path: d.name, what: fmt.Sprintf("owned by uid %d, not by the stage Pod's uid %d", st.Uid, os.Geteuid())}
	}
	return nil
}

// checkClaim refuses to swap when another push has taken the partial copy
// over since this one claimed it: this push's data folder is no longer
// there under its name. (The swap's rename by name is the fence; this check
// gives the refusal its message before anything is tried.)
func (s *stager) checkClaim() error {
	st, err := s.partial.stat(s.dataName())
	var own unix.Stat_t
	if err != nil || unix.Fstat(s.data.fd, &own) != nil || st.Ino != own.Ino || st.Dev != own.Dev {
		return s.claimed()
	}
	return nil
}

func (s *stager) claimed() error {
	return failf(proto.KindClaimed, "another push of %s took over its partial copy: this push stops before the swap; the staged copy is whatever the other push left", s.table)
}

// claimLost is err, or the takeover when err is the volume refusing a
// write in this push's data folder because another push took it over
// (renamed it away, or removed it): that push, not the volume, is what the
// user has to hear of.
func (s *stager) claimLost(err error) error {
	var f *failure
	if err == nil || errors.As(err, &f) || s.data == nil {
		return err
	}
	if cerr := s.checkClaim(); cerr != nil {
		return cerr
	}
	return err
}
