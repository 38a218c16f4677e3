package transfer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/tracebloc/kubectl-tracebloc/pkg/datafile"
)

// Sums maps a staged path ("images/a.jpg") to its hex SHA-256.
type Sums map[string]string

// digest is a SHA-256.
type digest [sha256.Size]byte

// hex is the digest as the agent writes it.
func (d digest) hex() string { return hex.EncodeToString(d[:]) }

// localFile is what the push learned of one local file: its hash and which
// file was hashed.
type localEntry struct {
	sum digest
	id  fileID
	// stamp is what stat said of the file as it was hashed, for the hash
	// cache; zero when unknown or when the file changed while read.
	stamp stamp
}

// Local is what the push read of the local dataset: every file's hash and
// the identity of the file that was hashed, so that the stream sends exactly
// those files and nothing that took their place. One map of fixed-size
// values keeps it small: 100 000 files take about 8 MB.
type Local struct {
	files map[string]localEntry
	// cache holds hashes of earlier pushes (nil: none).
	cache *HashCache
	// hashed counts the files read to hash them before the stream, cached
	// those whose hash came from the cache.
	hashed, cached int
}

// NewLocal is a Local that has hashed nothing yet: files are then hashed as
// they are sent, and before that only where the volume holds a file of the
// same name to compare with (see Stage).
func NewLocal() *Local { return &Local{files: map[string]localEntry{}} }

// UseCache makes l take the hash of each unchanged file from c instead of
// reading the file.
func (l *Local) UseCache(c *HashCache) { l.cache = c }

// Counts says how many files were read to hash them before the stream and
// how many hashes came from the cache.
func (l *Local) Counts() (hashed, cached int) { return l.hashed, l.cached }

// hashWhere hashes the files for which need is true and that are not
// hashed yet.
func (l *Local) hashWhere(root string, files []datafile.File, need func(rel string) bool) error {
	var todo []datafile.File
	for _, f := range files {
		if _, ok := l.files[f.Rel]; !ok && need(f.Rel) {
			todo = append(todo, f)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	return l.HashAll(root, todo)
}

// Sum is the hex SHA-256 of the file staged as rel.
func (l *Local) Sum(rel string) (string, bool) {
	e, ok := l.files[rel]
	if !ok {
		return "", false
	}
	return e.sum.hex(), true
}

// HashFiles reads every file of the dataset once, on a bounded worker pool,
// through root (no path can lead outside the dataset folder).
func HashFiles(root string, files []datafile.File) (*Local, error) {
	l := NewLocal()
	return l, l.HashAll(root, files)
}

// HashAll hashes files into l: from the cache where a file is unchanged
// since an earlier push hashed it, else by reading it once, on a bounded
// worker pool, through root (no path can lead outside the dataset folder).
func (l *Local) HashAll(root string, files []datafile.File) error {
	r, err := openLocalRoot(root)
	if err != nil {
		return err
	}
	defer r.close()
	type result struct {
		rel string
		localEntry
		cached bool
		err    error
	}
	jobs := make(chan datafile.File)
	results := make(chan result)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 256<<10)
			for f := range jobs {
				if e, ok := l.fromCache(r, f); ok {
					results <- result{rel: f.Rel, localEntry: e, cached: true}
					continue
				}
				e, err := hashFile(r, f, buf)
				results <- result{rel: f.Rel, localEntry: e, err: err}
			}
		}()
	}
	go func() {
		for _, f := range files {
			jobs <- f
		}
		close(jobs)
		wg.Wait()
		close(results)
	}()
	var firstErr error
	for res := range results {
		if res.err != nil && firstErr == nil {
			firstErr = res.err
		}
		l.files[res.rel] = res.localEntry
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
