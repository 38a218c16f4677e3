//go:build linux

package agent

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
)

// PartialMaxAge is how long the partial copy of an interrupted push waits for
// a push of its table before any push removes it (README: "7 days").
const PartialMaxAge = 7 * 24 * time.Hour

// maxPlan bounds the plan entry (a file list with hashes).
const maxPlan = 256 << 20

// maxPlanEntries bounds the files of one push the agent keeps in memory:
// the plan's, a hashes entry's.
const maxPlanEntries = 2 << 20

// stager is one stage round for one table.
type stager struct {
	*env
	table, nonce string

	shared  *dir // the volume's mount point
	staging *dir // .tracebloc-staging
	partial *dir // .partial-<table>
	data    *dir // .partial-<table>/data

	// resumed holds the files of the partial copy hashed by the inventory
	// (a zero sum: not hashed, not to be trusted).
	resumed *fileList
	// cut is the checkpoint of the file a stream broke off in, which this
	// round may continue (nil: none).
	cut *checkpoint
	// chunkMin: staged files of at least this many bytes are cut into
	// chunks for recipes (0: none); chunked holds the ones this round's
	// inventory cut, with their stat as they were cut.
	chunkMin int64
	chunked  map[string]fileInfo
	// known are the hashes of local files the plugin told (--known): a
	// staged file of the same name and hash is linked, not cut.
	known knownSums
	// stream is what the plugin sends after the inventory, decompressed.
	stream      *bufio.Reader
	closeStream func()
	// verified is the plan of the new copy with each file's hash and what
	// stat said of it as it was verified, for its manifest.
	verified *planTable
	// relinked: files of the new copy are links to the staged one, whose
	// removal after the swap changes their stat.
	relinked bool
	// seal names the staged copy's manifest after the swap ("": none).
	seal string
	// sealed is the seal the plugin asked the inventory to confirm
	// (--sealed); confirmed is what the check of the copy found when it
	// held (nil: not confirmed, the inventory listed the files).
	// sealedFiles is the count of files the push has (--sealed-files).
	sealed      string
	sealedFiles int
	confirmed   *kept
}

func (s *stager) partialName() string { return proto.PartialPrefix + s.table }

func (s *stager) manifestName() string { return "." + s.table + proto.ManifestSuffix }

func (s *stager) close() {
	if s.closeStream != nil {
		s.closeStream()
	}
	for _, d := range []*dir{s.data, s.partial, s.staging, s.shared} {
		d.close()
	}
}

func (s *stager) run(resend bool) error {
	defer s.close()
	if err := s.open(); err != nil {
		return err
	}
	s.recoverSwap()
	s.sweep(time.Now())
	if err := s.claim(); err != nil {
		return err
	}
	if resend {
		s.send(proto.Message{T: proto.MsgInventory})
	} else if err := s.inventory(); err != nil {
		return err
	}
	rec, err := s.receive()
	if err != nil {
		err = s.claimLost(err)
		if errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT) {
			// A full volume: what arrived cannot help the next push as much
			// as the space it takes; the staged copy stays as it was.
			s.dropPartial()
		} else {
			s.dropIfEmpty()
		}
		return err
	}
	// Every file arrived whole: no checkpoint is left to continue.
	s.dropCut()
	var files int
	var bytes int64
	if rec.kept != nil {
		files, bytes = rec.kept.files, rec.kept.bytes
	} else if files, bytes, err = s.verify(rec); err != nil {
		return err
	}
	s.send(proto.Message{T: proto.MsgVerified, Files: files, Bytes: bytes})
	// One short line: whatever else follows is not read into memory.
	line, err := readLine(s.stream, len(proto.Commit)+8)
	if strings.TrimSpace(line) != proto.Commit {
		if rec.kept != nil {
			// Nothing was received to keep for the next push.
			s.dropIfEmpty()
			return failf(proto.KindAborted, "the push did not confirm the swap (%s): the staged copy of %s is as it was", abortReason(err), s.table)
		}
		return failf(proto.KindAborted, "the push did not confirm the swap (%s): the verified files are kept for the next push of %s", abortReason(err), s.table)
	}
	if err := s.checkClaim(); err != nil {
		return err
	}
	if !s.stagingInPlace() {
		return s.stagingReplaced("before the swap: nothing was changed at that path")
	}
	if rec.kept != nil {
		if err := s.keptInPlace(*rec.kept); err != nil {
			return err
		}
		// Nothing of this push's data folder is used: it goes, as after
		// a swap.
		s.dropPartial()
		s.seal = rec.plan.keep
	} else if err := s.swap(); err != nil {
		return err
	}
	s.send(proto.Message{T: proto.MsgSwapped, Files: files, Bytes: bytes, PeakRSS: peakRSS(), Seal: s.seal, Kept: rec.kept != nil})
	return nil
}

// beforeProof runs as the swap's check begins (tests time a racing planter
// against it).
var beforeProof = func() {}

// dropPartial removes the partial copy this push was building.
func (s *stager) dropPartial() {
	s.dropCut()
	s.data.close()
	s.data = nil
	_ = s.partial.removeAll(s.dataName())
	s.partial.close()
	s.partial = nil
	_ = unix.Unlinkat(s.staging.fd, s.partialName(), unix.AT_REMOVEDIR)
}

// dropIfEmpty removes this push's data folder, and the partial folder,
// when nothing is in them (a push that stopped before sending a file, e.g.
// because the table is already ingested): no empty leftovers.
func (s *stager) dropIfEmpty() {
	if names, err := s.data.names(); err != nil || len(names) > 0 {
		return
	}
	s.dropCut()
	s.data.close()
	s.data = nil
	_ = unix.Unlinkat(s.partial.fd, s.dataName(), unix.AT_REMOVEDIR)
	s.partial.close()
	s.partial = nil
	_ = unix.Unlinkat(s.staging.fd, s.partialName(), unix.AT_REMOVEDIR)
}

func abortReason(err error) string {
	if err == nil {
		return "an unexpected reply"
	}
	return "the stream ended"
}

// open opens the volume and the staging folder, creating the latter.
func (s *stager) open() error {
	var err error
	if s.shared, err = openRoot(s.root); err != nil {
		return failf(proto.KindNoAccess, "the shared volume is not mounted at %s: %v", s.root, err)
	}
	s.staging, err = s.shared.ensureDir(proto.StagingDir)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) || errors.Is(err, unix.EROFS) {
			return s.notWritable(err)
		}
		return err
	}
	return s.ownStaging()
}

// ownStaging makes sure the staging folder is this uid's and that no other
// uid can rename or plant entries in it. The ingestor runs as another uid
// and only reads the staged copies, so the folder is 0755 (keeping the
// setgid bit a 2777 volume passes on): without group or other write, only
// this uid can swap a table in it.
func (s *stager) ownStaging() error {
	var st unix.Stat_t
	if err := unix.Fstat(s.staging.fd, &st); err != nil {
		return &fs.PathError{Op: "stat", Path: s.staging.name, Err: err}
	}
	if st.Uid != uint32(os.Geteuid()) {
		return failf(proto.KindUnsafe, "the staging folder %s is owned by uid %d, not by the stage Pod's uid %d: its owner could change a staged copy after the push checked it; ask a cluster admin to remove it or chown it to uid %d, then push again",
			s.staging.name, st.Uid, os.Geteuid(), os.Geteuid())
	}
	if st.Mode&0o022 != 0 {
		if err := unix.Fchmod(s.staging.fd, st.Mode&0o7777&^0o022); err != nil {
			return &fs.PathError{Op: "chmod", Path: s.staging.name, Err: err}
		}
	}
	return nil
}

// stagingInPlace reports whether the staging folder the push opened at the
// start is still the one at <volume>/.tracebloc-staging. The volume root
// is writable by every uid and has no sticky bit, so another uid can
// rename the folder away and plant its own under the name; the ingestor
// reads by path.
func (s *stager) stagingInPlace() bool {
	return sameEntry(s.shared, proto.StagingDir, s.staging.fd)
}

// sameEntry reports whether name in d (not followed) is the file open as fd.
func sameEntry(d *dir, name string, fd int) bool {
	st, err := d.stat(name)
	var own unix.Stat_t
	if err != nil || unix.Fstat(fd, &own) != nil {
		return false
	}
	return st.Dev == own.Dev && st.Ino == own.Ino
}

// stagingReplaced is the failure of a push whose staging folder was
// renamed away while it ran.
func (s *stager) stagingReplaced(when string) error {
	return failf(proto.KindSwap, "the staging folder %s/%s was replaced by another folder while the push ran (renamed away, %s): the copy of %s there is not this push's; find the workload that renames folders on the shared volume, remove the foreign %s and push again",
		s.root, proto.StagingDir, when, s.table, proto.StagingDir)
}

// notWritable explains a volume the stage Pod cannot write to.
func (s *stager) notWritable(cause error) error {
	var st unix.Stat_t
	owner := ""
	if unix.Fstat(s.shared.fd, &st) == nil {
		owner = fmt.Sprintf(" (owner uid %d, gid %d, mode %04o)", st.Uid, st.Gid, st.Mode&0o7777)
	}
	return failf(proto.KindNoAccess, "the shared volume %s%s is not writable by uid %d, gid %d (%v): make it writable for the stage Pod, as the client chart does (chmod 2777 %s)",
		s.root, owner, os.Geteuid(), os.Getegid(), errors.Unwrap(cause), s.root)
}
