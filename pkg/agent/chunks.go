//go:build linux

package agent

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
)

// The agent's half of recipes (proto/recipe.go): the inventory cuts each
// big staged file into chunks, and a data entry that is a recipe is built
// from ranges of that file and the bytes the stream carries.
//
// The chunks are cut from the staged file itself at each inventory, not
// taken from a list kept beside it: a list on the volume is one more thing
// another writer could plant or that could fall out of step with the file,
// and a wrong list costs a whole second round. The price is one read of
// each big staged file (about as long as hashing it) in a push whose local
// file of that name changed: the plugin names the hashes of the big files
// it knows unchanged (--known), and those are linked, not cut.

// cutStaged cuts each staged file of at least s.chunkMin bytes (in d, the
// staged copy) into chunks, when it is a regular file of this uid that
// nothing else links to and it did not change while it was read. The
// files cut are remembered with their stat: a recipe copies only from a
// file still the same.
func (s *stager) cutStaged(d *dir, staged *fileList) map[string]*proto.ChunkList {
	if s.chunkMin <= 0 || staged == nil {
		return nil
	}
	uid := uint32(os.Geteuid())
	var lists map[string]*proto.ChunkList
	var buf []byte
	for i := range staged.files {
		f := &staged.files[i]
		rel := staged.rel(i)
		if f.info.size < s.chunkMin || f.info.uid != uid || f.info.nlink != 1 || proto.CheckRel(rel) != nil {
			continue
		}
		if sum, ok := s.known[rel]; ok && f.known && sum == f.sum {
			continue // the local file is the same: linked, not sent
		}
		bitsAvg, minLen, maxLen := proto.ChunkParamsFor(f.info.size)
		if int64(len(buf)) < maxLen {
			buf = make([]byte, maxLen)
		}
		l, err := cutFile(d, rel, f.info, bitsAvg, minLen, maxLen, buf)
		if err != nil {
			continue // not offered: the file is sent whole
		}
		if lists == nil {
			lists = map[string]*proto.ChunkList{}
			s.chunked = map[string]fileInfo{}
		}
		lists[rel] = l
		s.chunked[rel] = f.info
	}
	return lists
}

// cutFile cuts the file rel of d, which must still be as info describes it
// before and after.
func cutFile(d *dir, rel string, info fileInfo, avgBits int, minLen, maxLen int64, buf []byte) (*proto.ChunkList, error) {
	f, err := openStagedFile(d, rel, info)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	l := &proto.ChunkList{Size: info.size, Bits: avgBits, Min: minLen, Max: maxLen}
	var total int64
	err = proto.CutChunks(bufio.NewReaderSize(f, 1<<20), avgBits, minLen, maxLen, buf, func(n int64, sum [32]byte) {
		total += n
		l.Chunks = append(l.Chunks, proto.ChunkRef{Len: n, Sum: hex.EncodeToString(sum[:])})
	})
	if err != nil {
		return nil, err
	}
	if total != info.size || !sameInfo(f, info) {
		return nil, errors.New("changed while it was cut")
	}
	return l, nil
}

// openStagedFile opens the file rel of the staged copy d (never through a
// link) when it is still the file info describes.
func openStagedFile(d *dir, rel string, info fileInfo) (*os.File, error) {
	parent, name, err := parentOf(d, rel)
	if err != nil {
		return nil, err
	}
	defer closeUnless(parent, d)
	f, st, err := parent.openFile(name)
	if err != nil {
		return nil, err
	}
	if infoOf(st) != info {
		_ = f.Close()
		return nil, fmt.Errorf("%s changed since the inventory", parent.path(name))
	}
	return f, nil
}

// sameInfo reports whether the open file f still matches info.
func sameInfo(f *os.File, info fileInfo) bool {
	var st unix.Stat_t
	return unix.Fstat(int(f.Fd()), &st) == nil && infoOf(&st) == info
}

// recipeSource opens the staged file a recipe for rel copies from: the one
// this round's inventory cut, unchanged since. nil when there is none to
// trust; the file is then not built, and the verification has the plugin
// send it whole.
func (s *stager) recipeSource(rel string) *os.File {
	info, ok := s.chunked[rel]
	if !ok {
		return nil
	}
	d, err := s.staging.openDir(s.table)
	if err != nil {
		return nil
	}
	defer d.close()
	f, err := openStagedFile(d, rel, info)
	if err != nil {
		return nil
	}
	return f
}

// skipRecipe reads past a recipe that cannot be built and drops what the
// partial copy holds under its name (an earlier push's file, or the start
// of a cut one): verification then finds the file missing, and the next
// round sends it whole.
func (s *stager) skipRecipe(d *dir, name, rel string, tr *tar.Reader) error {
	if _, err := io.Copy(io.Discard, tr); err != nil {
		return failf(proto.KindStream, "the stream broke off in %s: %v; the files received so far are kept for the next push", name, err)
	}
	if s.cut != nil && s.cut.Rel == rel {
		s.dropCut()
	}
	_ = d.removeEntry(name)
	return nil
}

// recipeReader reads the file a recipe builds: the ops come from the
// stream, the copied ranges from the staged file.
type recipeReader struct {
	ops  *bufio.Reader
	src  *os.File
	size int64
	// op, at and left: the op being read, where its next byte is in the
	// staged file (RecipeCopy) and how many of its bytes are left.
	op   byte
	at   int64
	left int64
}

func newRecipeReader(entry io.Reader, src *os.File, size int64) *recipeReader {
	return &recipeReader{ops: bufio.NewReaderSize(entry, 64<<10), src: src, size: size}
}

func (r *recipeReader) Read(p []byte) (int, error) {
	for r.left == 0 {
		op, off, n, err := proto.ReadOp(r.ops)
		switch {
		case errors.Is(err, io.EOF):
			return 0, io.EOF
		case errors.Is(err, proto.ErrRecipe):
			return 0, failf(proto.KindStream, "the stream holds a malformed recipe (damaged on the way?): push again")
		case err != nil:
			return 0, err
		}
		if op == proto.RecipeCopy && (off > r.size || n > r.size-off) {
			return 0, failf(proto.KindStream, "the stream's recipe copies bytes %d to %d of a staged file of %d bytes: push again", off, off+n, r.size)
		}
		r.op, r.at, r.left = op, off, n
	}
	p = p[:min(int64(len(p)), r.left)]
	if r.op == proto.RecipeData {
		k, err := r.ops.Read(p)
		r.left -= int64(k)
		if errors.Is(err, io.EOF) {
			// The entry's last bytes may come with its end: only an op
			// the entry ends inside is cut short.
			err = nil
			if r.left > 0 {
				err = io.ErrUnexpectedEOF
			}
		}
		return k, err
	}
	k, err := r.src.ReadAt(p, r.at)
	r.at += int64(k)
	r.left -= int64(k)
	if k == len(p) {
		return k, nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return k, &sourceError{err: &fs.PathError{Op: "read", Path: r.src.Name(), Err: err}}
}

// sourceError is a staged file a recipe copies from that could not be
// read to the end of a range: another writer cut it short after the
// inventory (or the volume failed it). The file is then not built from it,
// as when it changed before the recipe began: the next round sends it
// whole.
type sourceError struct{ err error }

func (e *sourceError) Error() string { return e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

// knownSums is the --known flag: path to the SHA-256 of the local file.
type knownSums map[string]digest

func (k *knownSums) String() string { return fmt.Sprintf("%d files", len(*k)) }

// Set takes one "<hex sha256><path>".
func (k *knownSums) Set(v string) error {
	if len(v) <= 2*sha256.Size {
		return fmt.Errorf("--known %q: want <sha256><path>", v)
	}
	sum, ok := parseDigest(v[:2*sha256.Size])
	if !ok {
		return fmt.Errorf("--known %q: want <sha256><path>", v)
	}
	if *k == nil {
		*k = knownSums{}
	}
	(*k)[v[2*sha256.Size:]] = sum
	return nil
}
