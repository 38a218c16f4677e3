package transfer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset"
)

// Sums maps a staged path ("images/a.jpg") to its hex SHA-256.
type Sums map[string]string

// Local is what the push read of the local dataset: every file's hash and
// the identity of the file that was hashed, so that the stream sends exactly
// those files and nothing that took their place.
type Local struct {
	Sums Sums
	ids  map[string]fileID
}

// HashFiles reads every file of the dataset once, on a bounded worker pool,
// through root (no path can lead outside the dataset folder).
func HashFiles(root string, files []dataset.File) (*Local, error) {
	r, err := openLocalRoot(root)
	if err != nil {
		return nil, err
	}
	defer r.close()
	type result struct {
		rel, sum string
		id       fileID
		err      error
	}
	jobs := make(chan dataset.File)
	results := make(chan result)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 256<<10)
			for f := range jobs {
				sum, id, err := hashFile(r, f, buf)
				results <- result{rel: f.Rel, sum: sum, id: id, err: err}
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
	l := &Local{Sums: make(Sums, len(files)), ids: make(map[string]fileID, len(files))}
	var firstErr error
	for res := range results {
		if res.err != nil && firstErr == nil {
			firstErr = res.err
		}
		l.Sums[res.rel] = res.sum
		l.ids[res.rel] = res.id
	}
	return l, firstErr
}

// hashFile hashes one file through the descriptor localRoot.open vouches for.
func hashFile(r *localRoot, f dataset.File, buf []byte) (string, fileID, error) {
	fh, err := r.open(f, nil)
	if err != nil {
		return "", fileID{}, err
	}
	defer fh.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, io.LimitReader(fh, f.Size), buf)
	if err != nil {
		return "", fileID{}, fmt.Errorf("reading %s: %w", f.Source(), err)
	}
	if n != f.Size {
		return "", fileID{}, changed(f)
	}
	return hex.EncodeToString(h.Sum(nil)), fh.id, nil
}
