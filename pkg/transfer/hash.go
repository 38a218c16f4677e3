package transfer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/tracebloc/kubectl-tracebloc/pkg/datafile"
)

// Sums maps a staged path ("images/a.jpg") to its hex SHA-256.
type Sums map[string]string

// digest is a SHA-256.
type digest [sha256.Size]byte

// hex is the digest as the agent writes it.
func (d digest) hex() string { return hex.EncodeToString(d[:]) }

// localEntry is what the push learned of one local file: its hash and
// which file was hashed. A zero sum means not hashed yet (no file has it).
type localEntry struct {
	sum digest
	id  fileID
	// stamp is what stat said of the file as it was hashed, beside the
	// size and mtime the pre-flight saw (the file had them), for the hash
	// cache; zero when unknown or when the file changed while read.
	stamp stamp
}

// Local is what the push read of the local dataset: every file's hash and
// the identity of the file that was hashed, so that the stream sends exactly
// those files and nothing that took their place. One fixed-size record a
// file, aligned with the dataset's file list and found by the file's index
// (by name through a sorted index where the index is not at hand): a
// million files take 56 MB, where a map keyed by path took 132.
type Local struct {
	files []datafile.File
	recs  []localEntry
	// byName are the indexes of files sorted by path, built at the first
	// lookup by name that the caller's index does not answer.
	byName []int32
	// last is the index last found by name (-1: none yet): lookups in the
	// order of the list (the stream's, verify's) find the next one there.
	last int
	// cache holds hashes of earlier pushes (nil: none).
	cache *HashCache
	// hashed counts the files read to hash them before the stream, cached
	// those whose hash came from the cache.
	hashed, cached int
}

// NewLocal is a Local of the dataset's files that has hashed nothing yet:
// files are then hashed as they are sent, and before that only where the
// volume holds a file of the same name to compare with (see Stage). The
// push hands it the same list as Options.Files.
func NewLocal(files []datafile.File) *Local {
	return &Local{files: files, recs: make([]localEntry, len(files)), last: -1}
}

// UseCache makes l take the hash of each unchanged file from c instead of
// reading the file.
func (l *Local) UseCache(c *HashCache) { l.cache = c }

// Counts says how many files were read to hash them before the stream and
// how many hashes came from the cache.
func (l *Local) Counts() (hashed, cached int) { return l.hashed, l.cached }

// index is the index of the file staged as rel in l's list, -1 when it is
// not there. hint is where the caller expects it (its own index in the
// same list); -1 for none: then the file after the last one found.
func (l *Local) index(rel string, hint int) int {
	if hint < 0 {
		hint = l.last + 1
	}
	if hint < len(l.files) && l.files[hint].Rel == rel {
		l.last = hint
		return hint
	}
	if l.byName == nil && len(l.files) > 0 {
		l.byName = make([]int32, len(l.files))
		for i := range l.byName {
			l.byName[i] = int32(i)
		}
		slices.SortFunc(l.byName, func(a, b int32) int { return strings.Compare(l.files[a].Rel, l.files[b].Rel) })
	}
	k, ok := slices.BinarySearchFunc(l.byName, rel, func(i int32, rel string) int { return strings.Compare(l.files[i].Rel, rel) })
	if !ok {
		return -1
	}
	l.last = int(l.byName[k])
	return l.last
}

// at is what l holds of file i; false when it is not hashed yet.
func (l *Local) at(i int) (localEntry, bool) {
	if i < 0 || i >= len(l.recs) {
		return localEntry{}, false
	}
	return l.recs[i], l.recs[i].sum != digest{}
}

// lookup is what l holds of the file staged as rel (see index for hint),
// with its index.
func (l *Local) lookup(rel string, hint int) (int, localEntry, bool) {
	i := l.index(rel, hint)
	e, ok := l.at(i)
	return i, e, ok
}

// hashWhere hashes the files for which need is true and that are not
// hashed yet.
func (l *Local) hashWhere(root string, need func(rel string) bool) error {
	var todo []int
	for i := range l.files {
		if _, ok := l.at(i); !ok && need(l.files[i].Rel) {
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	return l.hash(root, todo)
}

// Sum is the hex SHA-256 of the file staged as rel.
func (l *Local) Sum(rel string) (string, bool) {
	_, e, ok := l.lookup(rel, -1)
	if !ok {
		return "", false
	}
	return e.sum.hex(), true
}

// HashFiles reads every file of the dataset once, on a bounded worker pool,
// through root (no path can lead outside the dataset folder).
func HashFiles(root string, files []datafile.File) (*Local, error) {
	l := NewLocal(files)
	return l, l.HashAll(root)
}

// HashAll hashes every file of l not hashed yet: from the cache where a
// file is unchanged since an earlier push hashed it, else by reading it
// once, on a bounded worker pool, through root (no path can lead outside
// the dataset folder).
func (l *Local) HashAll(root string) error {
	return l.hash(root, nil)
}

// hash hashes the files of l at the indexes todo (nil: every file not
// hashed yet).
func (l *Local) hash(root string, todo []int) error {
	r, err := openLocalRoot(root)
	if err != nil {
		return err
	}
	defer r.close()
	type result struct {
		i int
		localEntry
		cached bool
		err    error
	}
	jobs := make(chan int)
	results := make(chan result)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 256<<10)
			for i := range jobs {
				f := l.files[i]
				if e, ok := l.fromCache(r, f); ok {
					results <- result{i: i, localEntry: e, cached: true}
					continue
				}
				e, err := hashFile(r, f, buf)
				results <- result{i: i, localEntry: e, err: err}
			}
		}()
	}
	go func() {
		if todo == nil {
			for i := range l.files {
				if _, ok := l.at(i); !ok {
					jobs <- i
				}
			}
		}
		for _, i := range todo {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
		close(results)
	}()
	var firstErr error
	for res := range results {
		if res.err != nil {
			if firstErr == nil {
				firstErr = res.err
			}
			continue
		}
		l.recs[res.i] = res.localEntry
		if res.cached {
			l.cached++
		} else {
			l.hashed++
		}
	}
	return firstErr
}

// fromCache is the cached hash of f, when the cache holds one for the very
// file at f's path with every key as it is now.
func (l *Local) fromCache(r *localRoot, f datafile.File) (localEntry, bool) {
	if l.cache == nil {
		return localEntry{}, false
	}
	k, id, ok := r.statKey(f)
	if !ok {
		return localEntry{}, false
	}
	sum, ok := l.cache.lookup(k)
	if !ok {
		return localEntry{}, false
	}
	return localEntry{sum: sum, id: id, stamp: stampOf(k)}, true
}

// hashFile hashes one file through the descriptor localRoot.open vouches for.
func hashFile(r *localRoot, f datafile.File, buf []byte) (localEntry, error) {
	fh, err := r.open(f, nil)
	if err != nil {
		return localEntry{}, err
	}
	defer func() { _ = fh.Close() }()
	h := sha256.New()
	n, err := io.CopyBuffer(h, io.LimitReader(fh, f.Size), buf)
	if err != nil {
		return localEntry{}, fmt.Errorf("reading %s: %w", f.Source(), err)
	}
	if n != f.Size {
		return localEntry{}, changed(f)
	}
	e := localEntry{id: fh.id}
	if fh.unchanged() {
		e.stamp = fh.stamp()
	}
	h.Sum(e.sum[:0])
	return e, nil
}
