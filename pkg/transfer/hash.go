package transfer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
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
	ids  map[string]os.FileInfo
}

// HashFiles reads every file of the dataset once, on a bounded worker pool,
// through root (no path can lead outside the dataset folder).
func HashFiles(root string, files []dataset.File) (*Local, error) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", root, err)
	}
	defer func() { _ = r.Close() }()
	type result struct {
		rel, sum string
		id       os.FileInfo
		err      error
	}
	jobs := make(chan dataset.File)
	results := make(chan result)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range jobs {
				sum, id, err := hashFile(r, f)
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
	l := &Local{Sums: make(Sums, len(files)), ids: make(map[string]os.FileInfo, len(files))}
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

// hashFile hashes one file through the descriptor openChecked vouches for.
func hashFile(r *os.Root, f dataset.File) (string, os.FileInfo, error) {
	fh, info, err := openChecked(r, f, nil)
	if err != nil {
		return "", nil, err
	}
	defer fh.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(fh, info.Size()))
	if err != nil {
		return "", nil, fmt.Errorf("reading %s: %w", f.Source(), err)
	}
	if n != f.Size {
		return "", nil, changed(f)
	}
	return hex.EncodeToString(h.Sum(nil)), info, nil
}
