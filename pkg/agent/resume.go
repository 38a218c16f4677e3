//go:build linux

package agent

import (
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
)

// A file the stream breaks off in is not lost: while it arrives, the agent
// saves a checkpoint now and then (the bytes so far are synced to disk,
// then the offset and the SHA-256 state after them go into a sidecar of the
// partial folder). The next round's inventory reports the checkpoint
// (proto.Cut), the plugin sends only the rest, and the agent appends it and
// hashes on from the saved state: the file's final SHA-256 still covers
// every byte and is checked against the plan's as any other file's.

// Checkpoints are saved once both this many bytes and this much time have
// passed since the last: at most four syncs a second on a fast link, at
// most this many bytes (or a quarter second of the stream) to send again
// on a slow one when the agent is killed. A stream that breaks while the
// agent lives gets a checkpoint of every byte that arrived.
var (
	checkpointBytes int64 = 8 << 20
	checkpointEvery       = 250 * time.Millisecond
)

// cutPrefix names the sidecar of a data folder: cut-<the data folder's
// suffix>, beside it in the partial folder. Only the agent writes it.
const cutPrefix = "cut-"

// maxCheckpoint bounds a sidecar: a name, two numbers and a hash state.
const maxCheckpoint = 4 << 10

// checkpoint is what the agent has verified of a file it was writing.
type checkpoint struct {
	Rel    string `json:"rel"`
	Offset int64  `json:"offset"`
	// State is the SHA-256 state after the first Offset bytes
	// (crypto/sha256's MarshalBinary).
	State []byte `json:"state"`
	// Dev and Ino are the file's: a file put in its place is not it.
	Dev uint64 `json:"dev"`
	Ino uint64 `json:"ino"`
	// onDisk is what stat said of the file when its first Offset bytes
	// were read back and found to hash to State: the sidecar is no proof
	// of them (anyone with the agent's uid can write the file or the
	// sidecar), the bytes on the volume are.
	onDisk fileInfo
}

// hasher is the SHA-256 the checkpoint continues from.
func (c *checkpoint) hasher() (hash.Hash, error) {
	h := sha256.New()
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(c.State); err != nil {
		return nil, err
	}
	return h, nil
}

// valid checks the checkpoint on its own: a name the copy may hold and a
// hash state that has read exactly Offset bytes.
func (c *checkpoint) valid() bool {
	if proto.CheckRel(c.Rel) != nil || c.Offset <= 0 || len(c.State) < 8 {
		return false
	}
	// The state ends with the count of bytes hashed.
	if binary.BigEndian.Uint64(c.State[len(c.State)-8:]) != uint64(c.Offset) {
		return false
	}
	_, err := c.hasher()
	return err == nil
}

// prefixSum is the hex SHA-256 of the first Offset bytes.
func (c *checkpoint) prefixSum() string {
	h, err := c.hasher()
	if err != nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}

// cutName is the sidecar of this push's data folder.
func (s *stager) cutName() string {
	return cutPrefix + strings.TrimPrefix(s.dataName(), proto.PartialData+"-")
}

// readCheckpoint reads the sidecar name of d: a regular file of this uid
// that nothing else links to, never followed.
func readCheckpoint(d *dir, name string) (*checkpoint, error) {
	f, st, err := d.openFile(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st.Uid != uint32(os.Geteuid()) || st.Nlink != 1 || st.Size > maxCheckpoint {
		return nil, &unsafeError{path: d.path(name), what: fmt.Sprintf("not a checkpoint the stage agent wrote (owner uid %d, %d links, %d bytes)", st.Uid, st.Nlink, st.Size)}
	}
	var c checkpoint
	if err := json.NewDecoder(io.LimitReader(f, maxCheckpoint)).Decode(&c); err != nil {
		return nil, err
	}
	if !c.valid() {
		return nil, fmt.Errorf("%s: a malformed checkpoint", d.path(name))
	}
	return &c, nil
}

// writeCheckpoint replaces the sidecar name of d with c, synced.
func writeCheckpoint(d *dir, name string, c *checkpoint) error {
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return writeSmall(d, name, data)
}

// loadCut takes up the checkpoint of this push's data folder, when the file
// it describes is still the one it was taken of: a regular file of this
// uid, linked nowhere else, at least Offset bytes long. Anything else drops
// the sidecar; the file is then hashed whole like any other.
func (s *stager) loadCut() {
	c, err := readCheckpoint(s.partial, s.cutName())
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			_ = s.partial.removeEntry(s.cutName())
		}
		return
	}
	if !s.cutFileIs(c) || !s.cutStartIs(c) {
		_ = s.partial.removeEntry(s.cutName())
		return
	}
	s.cut = c
}

// cutStartIs reads the first c.Offset bytes of the cut file back and
// reports whether they hash to the checkpoint's state, noting in c what
// stat said of the file before the read. A file changed in place since
// the checkpoint (its inode kept) fails here and is then hashed whole
// like any other.
func (s *stager) cutStartIs(c *checkpoint) bool {
	parent, name, err := parentOf(s.data, c.Rel)
	if err != nil {
		return false
	}
	defer closeUnless(parent, s.data)
	f, st, err := parent.openFile(name)
	if err != nil {
		return false
	}
	defer f.Close()
	h := sha256.New()
	buf := bufPool.Get().(*[]byte)
	defer bufPool.Put(buf)
	n, err := io.CopyBuffer(h, io.LimitReader(f, c.Offset), *buf)
	if err != nil || n != c.Offset || hex.EncodeToString(h.Sum(nil)) != c.prefixSum() {
		return false
	}
	c.onDisk = infoOf(st)
	return true
}

// cutHasher is the SHA-256 to hash the rest of the cut file on from, fd
// open on it and st what stat says of it now. The checkpoint's state
// stands for the file's start only while the file is as it was when
// loadCut read that start back; otherwise the start is read again, so
// the file's final hash is of the bytes on the volume, whatever they are.
func (s *stager) cutHasher(fd int, st *unix.Stat_t) (hash.Hash, error) {
	if s.cut.onDisk == infoOf(st) {
		return s.cut.hasher()
	}
	h := sha256.New()
	buf := bufPool.Get().(*[]byte)
	defer bufPool.Put(buf)
	if _, err := io.CopyBuffer(h, io.NewSectionReader(preader(fd), 0, s.cut.Offset), *buf); err != nil {
		return nil, err
	}
	return h, nil
}

// preader reads a bare descriptor at an offset.
type preader int

func (p preader) ReadAt(b []byte, off int64) (int, error) {
	for {
		n, err := unix.Pread(int(p), b, off)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return n, err
		case n == 0 && len(b) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// cutFileIs reports whether the partial copy's file at c.Rel is the file c
// was taken of.
func (s *stager) cutFileIs(c *checkpoint) bool {
	parent, name, err := parentOf(s.data, c.Rel)
	if err != nil {
		return false
	}
	defer closeUnless(parent, s.data)
	st, err := parent.stat(name)
	return err == nil && isFile(st) && st.Uid == uint32(os.Geteuid()) && st.Nlink == 1 &&
		uint64(st.Dev) == c.Dev && st.Ino == c.Ino && st.Size >= c.Offset
}

// dropCut removes the sidecar: every file arrived whole.
func (s *stager) dropCut() {
	s.cut = nil
	if s.partial != nil {
		_ = unix.Unlinkat(s.partial.fd, s.cutName(), 0)
	}
}

// doneWith forgets the checkpoint of rel, which has arrived whole. A
// checkpoint of another file that this round has not come to yet is
// written back, in case this file's checkpoints replaced it.
func (s *stager) doneWith(rel string, savedAny bool) {
	if s.cut != nil && s.cut.Rel == rel {
		s.cut = nil
		savedAny = true
	}
	if !savedAny {
		return
	}
	if s.cut != nil {
		_ = writeCheckpoint(s.partial, s.cutName(), s.cut)
		return
	}
	_ = unix.Unlinkat(s.partial.fd, s.cutName(), 0)
}

// resumeOffset reads the offset a data entry continues its file from (0: the
// entry is the whole file). Only the checkpoint this round reported can be
// continued.
func (s *stager) resumeOffset(rel string, pax map[string]string) (int64, error) {
	v, ok := pax[proto.PAXOffset]
	if !ok {
		return 0, nil
	}
	var off int64
	if _, err := fmt.Sscan(v, &off); err != nil || s.cut == nil || s.cut.Rel != rel || off != s.cut.Offset {
		return 0, failf(proto.KindStream, "the stream continues %q from byte %s, which is not where the partial copy's checkpoint of it stands: push again", rel, v)
	}
	return off, nil
}

// checkpointer saves the checkpoints of one file as it is written.
type checkpointer struct {
	s      *stager
	rel    string
	fd     int
	st     unix.Stat_t
	h      hash.Hash
	off    int64
	saved  int64
	at     time.Time
	wrote  bool
	failed bool
}

// advance counts n more bytes written and hashed, and saves a checkpoint
// when one is due. A checkpoint that cannot be saved only costs a resume:
// the stream goes on.
func (c *checkpointer) advance(n int) {
	c.off += int64(n)
	if c.off-c.saved < checkpointBytes || time.Since(c.at) < checkpointEvery {
		return
	}
	c.save()
}

// save syncs the file and records what it holds so far.
func (c *checkpointer) save() {
	if c.s == nil || c.failed || c.off == c.saved {
		return
	}
	state, err := c.h.(encoding.BinaryMarshaler).MarshalBinary()
	if err == nil {
		err = unix.Fdatasync(c.fd)
	}
	if err == nil {
		err = writeCheckpoint(c.s.partial, c.s.cutName(), &checkpoint{Rel: c.rel, Offset: c.off, State: state, Dev: uint64(c.st.Dev), Ino: c.st.Ino})
	}
	if err != nil {
		c.failed = true
		return
	}
	c.saved, c.at, c.wrote = c.off, time.Now(), true
}

// SetCheckpoints changes how often checkpoints are saved and returns what
// puts the defaults back: tests of the plugin drive the real agent
// in-process with files too small and too fast for the defaults.
func SetCheckpoints(bytes int64, every time.Duration) (restore func()) {
	oldBytes, oldEvery := checkpointBytes, checkpointEvery
	checkpointBytes, checkpointEvery = bytes, every
	return func() { checkpointBytes, checkpointEvery = oldBytes, oldEvery }
}
