package transfer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset"
)

// Sums maps a dataset-relative path ("images/a.jpg") to its hex SHA-256.
type Sums map[string]string

// HashFiles computes the SHA-256 of every file on a bounded worker pool.
func HashFiles(root string, files []dataset.File) (Sums, error) {
	type result struct {
		rel, sum string
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
				sum, err := hashFile(filepath.Join(root, filepath.FromSlash(f.Rel)))
				results <- result{rel: f.Rel, sum: sum, err: err}
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
	sums := make(Sums, len(files))
	var firstErr error
	for r := range results {
		if r.err != nil && firstErr == nil {
			firstErr = fmt.Errorf("hashing %s: %w", r.rel, r.err)
		}
		sums[r.rel] = r.sum
	}
	return sums, firstErr
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
