package transfer

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/datafile"
)

// An unchanged re-push of a million files spent most of its time moving
// the lists of them: the agent's inventory (every staged file with its
// hash), the hash cache (every local file), the plan (every file again).
// None of it is needed when the push can show, from stat alone, that each
// local file is the one a push of its own hashed and saw swapped in: the
// hash cache's rule (device, inode, size, mtime and ctime as they were,
// none of them within racyWindow of that push's start) applied to the
// dataset as a whole. That push records, beside the copy's seal, one
// digest of every file's name and stat as hashed (filesDigest); a push
// that finds the same digest asks the agent to confirm that seal (a stat
// walk of the staged copy against its manifest) and, when it holds, to
// keep the copy without naming its files. Anything else, and the push
// takes the full path in the same round: the agent lists the files.

// Unchanged is a dataset found, file by file, as the push that staged the
// table's sealed copy left it.
type Unchanged struct {
	seal  string
	files digest
}

// CheckUnchanged stats every file of the dataset and returns what lets
// the push keep table's staged copy without listing it, or nil when the
// seals hold no digest for table or a file differs from it.
func CheckUnchanged(root string, files []datafile.File, seals *Seals, table string) *Unchanged {
	seal, want, ok := seals.sealed(table)
	if !ok || len(files) == 0 {
		return nil
	}
	r, err := openLocalRoot(root)
	if err != nil {
		return nil
	}
	defer r.close()
	d := newFilesDigest(len(files))
	for _, f := range files {
		k, _, ok := r.statKey(f)
		if !ok {
			return nil
		}
		d.add(f, k)
	}
	if d.sum() != want {
		return nil
	}
	return &Unchanged{seal: seal, files: want}
}

// filesDigest is the SHA-256 of the file count, then of each file in the
// dataset's order: where it is staged, where it is read from, and its
// hash cache key.
type filesDigest struct {
	h   hash.Hash
	buf []byte
}

func newFilesDigest(n int) *filesDigest {
	d := &filesDigest{h: sha256.New()}
	d.buf = binary.LittleEndian.AppendUint64(d.buf, uint64(n))
	return d
}

func (d *filesDigest) add(f datafile.File, k fileKey) {
	d.buf = append(d.buf, f.Rel...)
	d.buf = append(d.buf, 0)
	d.buf = append(d.buf, f.Source()...)
	d.buf = append(d.buf, 0)
	for _, v := range []uint64{k.dev, k.ino, uint64(k.size), uint64(k.mtime), uint64(k.ctime)} {
		d.buf = binary.LittleEndian.AppendUint64(d.buf, v)
	}
	if len(d.buf) >= 32<<10 {
		d.h.Write(d.buf)
		d.buf = d.buf[:0]
	}
}

func (d *filesDigest) sum() digest {
	d.h.Write(d.buf)
	d.buf = d.buf[:0]
	var out digest
	d.h.Sum(out[:0])
	return out
}

// localDigest is the filesDigest of the files as local hashed them; false
// when a file's stat is unknown (hashed while it changed, or not hashed)
// or its mtime or ctime is within racyWindow of start, when the push
// began: a write just after the hash could leave both as they were.
func localDigest(files []datafile.File, local *Local, start time.Time) (digest, bool) {
	if start.IsZero() || len(files) == 0 {
		return digest{}, false
	}
	cutoff := start.Add(-racyWindow).UnixNano()
	d := newFilesDigest(len(files))
	for i, f := range files {
		_, e, ok := local.lookup(f.Rel, i)
		if !ok {
			return digest{}, false
		}
		k, ok := e.key(f)
		if !ok || k.mtime >= cutoff || k.ctime >= cutoff {
			return digest{}, false
		}
		d.add(f, k)
	}
	return d.sum(), true
}
