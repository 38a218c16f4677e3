//go:build unix

package transfer

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/datafile"
)

// smallDataset is n small files under root/texts, listed as the
// pre-flight lists them. With links, they are n names of one file: quicker
// to make, and each is hashed and recorded as a file of its own (the hash
// cache keeps one record of them).
func smallDataset(t *testing.T, root string, n int, links bool) []datafile.File {
	t.Helper()
	dir := filepath.Join(root, "texts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	first := filepath.Join(dir, "r0000000.txt")
	if err := os.WriteFile(first, []byte("a short review\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(first)
	if err != nil {
		t.Fatal(err)
	}
	files := make([]datafile.File, n)
	for i := range files {
		rel := fmt.Sprintf("texts/r%07d.txt", i)
		switch {
		case i == 0:
		case links:
			err = os.Link(first, filepath.Join(root, rel))
		default:
			err = os.WriteFile(filepath.Join(root, rel), []byte("a short review\n"), 0o644)
			if err == nil {
				info, err = os.Stat(filepath.Join(root, rel))
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		files[i] = datafile.File{Rel: rel, Size: info.Size(), ModTime: info.ModTime()}
	}
	return files
}

// heapObjects is the heap's live objects after a collection.
func heapObjects() int64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}

// heapAllocs is every byte the heap has handed out so far.
func heapAllocs() int64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}

// localBytesPerFile bounds what Local keeps of a file: one record of a
// hash, the file's identity and its ctime (56 bytes). A map keyed by path
// took 132 bytes a file at a million files.
const localBytesPerFile = 64

// TestLocalHeapPerFile hashes datasets of two sizes and bounds what the
// hashes keep on the heap a file (the slope between them: what is fixed
// cancels out). A first push of a million files holds them to the end.
func TestLocalHeapPerFile(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	const small, big = 10000, 50000
	kept := func(n int) int64 {
		root := t.TempDir()
		files := smallDataset(t, root, n, true)
		before := heapObjects()
		l, err := HashFiles(root, files)
		if err != nil {
			t.Fatal(err)
		}
		after := heapObjects()
		if h, _ := l.Counts(); h != n {
			t.Fatalf("hashed %d files, want %d", h, n)
		}
		runtime.KeepAlive(l)
		runtime.KeepAlive(files)
		return after - before
	}
	ks, kb := kept(small), kept(big)
	per := (kb - ks) / (big - small)
	t.Logf("hashes of %d files keep %d bytes, of %d files %d: %d bytes a file", small, ks, big, kb, per)
	if bound := int64(localBytesPerFile * heapPercent / 100); per > bound {
		t.Errorf("the hashes keep %d bytes a file, bound %d", per, bound)
	}
}

// saveBytesPerFile bounds what the hash cache's Save allocates a file
// beyond what Local holds: the order of the records. Building every
// record, an index and the whole file in memory took 150.
const saveBytesPerFile = 8

// TestHashCacheSaveAllocatesLittlePerFile saves the caches of datasets of
// two sizes and bounds the bytes Save allocates a file (the slope). The
// files are links of one: the file keeps one record, and what Save holds
// of each name before it drops the links shows.
func TestHashCacheSaveAllocatesLittlePerFile(t *testing.T) {
	t.Setenv(cacheDirEnv, t.TempDir())
	const small, big = 10000, 50000
	alloc := func(n int) int64 {
		root := t.TempDir()
		files := smallDataset(t, root, n, true)
		l, err := HashFiles(root, files)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := OpenHashCache(root)
		before := heapAllocs()
		if err := c.Save(l, later()); err != nil {
			t.Fatal(err)
		}
		return heapAllocs() - before
	}
	as, ab := alloc(small), alloc(big)
	per := (ab - as) / (big - small)
	t.Logf("saving the cache of %d files allocates %d bytes, of %d files %d: %d bytes a file", small, as, big, ab, per)
	if bound := int64(saveBytesPerFile * heapPercent / 100); per > bound {
		t.Errorf("saving the cache allocates %d bytes a file, bound %d", per, bound)
	}
}
