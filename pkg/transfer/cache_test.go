//go:build unix

package transfer

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset"
)

// cacheDataset writes n small files under root/texts and returns them as
// the pre-flight lists them.
func cacheDataset(t *testing.T, n int) (string, []dataset.File) {
	t.Helper()
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "texts"), 0o755); err != nil {
		t.Fatal(err)
	}
	var files []dataset.File
	for i := range n {
		rel := fmt.Sprintf("texts/%03d.txt", i)
		if err := os.WriteFile(filepath.Join(root, rel), fmt.Appendf(nil, "text number %03d\n", i), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, statFile(t, root, rel))
	}
	return root, files
}

func statFile(t *testing.T, root, rel string) dataset.File {
	t.Helper()
	info, err := os.Lstat(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return dataset.File{Rel: rel, Size: info.Size(), ModTime: info.ModTime()}
}

// hashWithCache hashes files with the cache of root, as a push does, and
// saves the cache as if the push had started at start.
func hashWithCache(t *testing.T, root string, files []dataset.File, start time.Time) (*Local, string) {
	t.Helper()
	c, note := OpenHashCache(root)
	l := NewLocal(files)
	l.UseCache(c)
	if err := l.HashAll(root); err != nil {
		t.Fatal(err)
	}
	if err := c.Save(l, start); err != nil {
		t.Fatal(err)
	}
	return l, note
}

// later is a push start far enough after the files were written that none
// of them counts as racily clean.
func later() time.Time { return time.Now().Add(time.Hour) }

func TestHashCacheUnchangedRepushReadsNothing(t *testing.T) {
	t.Setenv(cacheDirEnv, t.TempDir())
	root, files := cacheDataset(t, 50)
	first, note := hashWithCache(t, root, files, later())
	if h, c := first.Counts(); h != 50 || c != 0 || note != "" {
		t.Fatalf("first push: hashed %d, cached %d, note %q; want 50, 0, none", h, c, note)
	}
	again, note := hashWithCache(t, root, files, later())
	if h, c := again.Counts(); h != 0 || c != 50 || note != "" {
		t.Fatalf("unchanged re-push: hashed %d, cached %d, note %q; want 0 read, 50 from the cache", h, c, note)
	}
	for _, f := range files {
		want, _ := first.Sum(f.Rel)
		if got, _ := again.Sum(f.Rel); got != want {
			t.Errorf("%s: cached hash %s, read %s", f.Rel, got, want)
		}
	}
}

// A same-size edit with the mtime put back leaves size and mtime as they
// were: only the ctime tells, and the cache must not be trusted.
func TestHashCacheSameSizeEditMtimePutBack(t *testing.T) {
	t.Setenv(cacheDirEnv, t.TempDir())
	root, files := cacheDataset(t, 3)
	hashWithCache(t, root, files, later())
	// Past the timestamp granularity, so the edit's ctime differs.
	time.Sleep(50 * time.Millisecond)
	path := filepath.Join(root, files[1].Rel)
	if err := os.WriteFile(path, []byte("TEXT NUMBER 001\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, files[1].ModTime, files[1].ModTime); err != nil {
		t.Fatal(err)
	}
	if f := statFile(t, root, files[1].Rel); f.Size != files[1].Size || !f.ModTime.Equal(files[1].ModTime) {
		t.Fatalf("the edit changed size or mtime: %+v, was %+v", f, files[1])
	}
	l, _ := hashWithCache(t, root, files, later())
	if h, c := l.Counts(); h != 1 || c != 2 {
		t.Errorf("hashed %d, cached %d; want the edited file read again and the other two cached", h, c)
	}
	got, _ := l.Sum(files[1].Rel)
	if want := fmt.Sprintf("%x", sha256.Sum256([]byte("TEXT NUMBER 001\n"))); got != want {
		t.Errorf("the edited file's hash is %s, want %s (the stale cached one?)", got, want)
	}
}

// A file replaced by another with the same size and mtime (a new inode)
// is not the cached file.
func TestHashCacheReplacedFile(t *testing.T) {
	t.Setenv(cacheDirEnv, t.TempDir())
	root, files := cacheDataset(t, 2)
	hashWithCache(t, root, files, later())
	path := filepath.Join(root, files[0].Rel)
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte("another text 00\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(tmp, files[0].ModTime, files[0].ModTime); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	l, _ := hashWithCache(t, root, files, later())
	if h, _ := l.Counts(); h != 1 {
		t.Errorf("hashed %d files, want the replaced one read again", h)
	}
}

func TestHashCacheLookupNeedsEveryKey(t *testing.T) {
	k := fileKey{dev: 7, ino: 42, size: 100, mtime: 1_700_000_000_123_456_789, ctime: 1_700_000_001_987_654_321}
	sum := digest(sha256.Sum256([]byte("x")))
	c := &HashCache{recs: putRecord(putRecord(nil, fileKey{dev: 7, ino: 41}, digest{}), k, sum)}
	if got, ok := c.lookup(k); !ok || got != sum {
		t.Fatalf("lookup of the key itself: %v %x", ok, got)
	}
	for name, change := range map[string]func(*fileKey){
		"dev": func(k *fileKey) { k.dev++ }, "ino": func(k *fileKey) { k.ino++ }, "size": func(k *fileKey) { k.size++ },
		"mtime": func(k *fileKey) { k.mtime++ }, "ctime": func(k *fileKey) { k.ctime++ },
	} {
		other := k
		change(&other)
		if _, ok := c.lookup(other); ok {
			t.Errorf("a key whose %s differs by 1 ns or 1 is trusted", name)
		}
	}
}

// Files written within the racy window of the push's start are not
// cached: a write right after hashing could leave their times as they were.
func TestHashCacheSkipsRacyFiles(t *testing.T) {
	t.Setenv(cacheDirEnv, t.TempDir())
	root, files := cacheDataset(t, 4)
	hashWithCache(t, root, files, time.Now())
	l, _ := hashWithCache(t, root, files, later())
	if h, c := l.Counts(); h != 4 || c != 0 {
		t.Errorf("hashed %d, cached %d; want every just-written file read again", h, c)
	}
}

// On FAT a time ticks every 2 s and the ctime is the mtime: a write just
// after a push began and hashed the file can be dated up to 2 s before the
// push's start, with the times the cache kept. So a file dated 1.5 s
// before the start is not cached either.
func TestHashCacheSkipsFilesWithinACoarseTick(t *testing.T) {
	t.Setenv(cacheDirEnv, t.TempDir())
	root, files := cacheDataset(t, 4)
	hashWithCache(t, root, files, time.Now().Add(1500*time.Millisecond))
	l, _ := hashWithCache(t, root, files, later())
	if h, c := l.Counts(); h != 4 || c != 0 {
		t.Errorf("hashed %d, cached %d; want every file of the last 2 s tick read again", h, c)
	}
}

func TestHashCacheCorruptOrForeignIsIgnoredWithANote(t *testing.T) {
	tests := []struct {
		name     string
		spoil    func(t *testing.T, path, root string)
		wantNote string
	}{
		{"a flipped byte", func(t *testing.T, path, _ string) {
			b, _ := os.ReadFile(path)
			b[len(b)/2] ^= 1
			_ = os.WriteFile(path, b, 0o600)
		}, "damaged"},
		{"truncated", func(t *testing.T, path, _ string) {
			b, _ := os.ReadFile(path)
			_ = os.WriteFile(path, b[:len(b)-40], 0o600)
		}, "damaged"},
		{"another format", func(t *testing.T, path, _ string) {
			_ = os.WriteFile(path, []byte(`{"texts/000.txt":"abc"}`), 0o600)
		}, "not a cache of this version"},
		{"another folder's cache", func(t *testing.T, path, root string) {
			other, _ := cacheDataset(t, 2)
			c, _ := OpenHashCache(other)
			l, _ := HashFiles(other, nil)
			_ = c.Save(l, later())
			_ = os.Rename(c.path, path)
		}, "cache of another folder"},
		{"a folder in its place", func(t *testing.T, path, _ string) {
			_ = os.Remove(path)
			_ = os.Mkdir(path, 0o700)
		}, "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(cacheDirEnv, t.TempDir())
			root, files := cacheDataset(t, 5)
			hashWithCache(t, root, files, later())
			c, _ := OpenHashCache(root)
			tt.spoil(t, c.path, root)
			c, note := OpenHashCache(root)
			if !strings.Contains(note, tt.wantNote) || !strings.Contains(note, "hashed again") {
				t.Errorf("note %q, want it to say %q and that the files are hashed again", note, tt.wantNote)
			}
			l := NewLocal(files)
			l.UseCache(c)
			if err := l.HashAll(root); err != nil {
				t.Fatal(err)
			}
			if h, cached := l.Counts(); h != 5 || cached != 0 {
				t.Errorf("hashed %d, cached %d: a spoilt cache was trusted", h, cached)
			}
			if tt.name == "a folder in its place" {
				return
			}
			// The push rewrites it.
			if err := c.Save(l, later()); err != nil {
				t.Fatal(err)
			}
			if _, note := OpenHashCache(root); note != "" {
				t.Errorf("after the rewrite: %s", note)
			}
		})
	}
}

func TestHashCacheFolderIsBounded(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-3 * time.Hour)
	for i, size := range []int{400, 300, 200} {
		p := filepath.Join(dir, cacheName(i))
		if err := os.WriteFile(p, make([]byte, size), 0o600); err != nil {
			t.Fatal(err)
		}
		at := old.Add(time.Duration(i) * time.Hour)
		if err := os.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
	}
	// c0 is the oldest, but the one just written stays whatever its age.
	// Another file of a folder TRACEBLOC_CACHE_DIR names, the oldest of all.
	other := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(other, make([]byte, 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(other, old.Add(-time.Hour), old.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	trimCaches(dir, filepath.Join(dir, cacheName(0)), 650)
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if want := cacheName(0) + "," + cacheName(2) + ",notes.txt"; strings.Join(left, ",") != want {
		t.Errorf("left %v, want cache 0 (just written), cache 2 (the newest of the rest) under 650 bytes and notes.txt (not a cache)", left)
	}
}

// cacheName is a name of the kind OpenHashCache gives a cache file.
func cacheName(i int) string { return fmt.Sprintf("%032x", i) }

// TestHashCacheFileLayout: the cache Save writes as it goes is the file
// the layout describes, byte for byte (the magic, the folder, the count,
// the records by device and inode with one for two names of a file, the
// SHA-256 of all that), so caches written before still load.
func TestHashCacheFileLayout(t *testing.T) {
	t.Setenv(cacheDirEnv, t.TempDir())
	root, files := cacheDataset(t, 5)
	if err := os.Link(filepath.Join(root, files[2].Rel), filepath.Join(root, "texts/link.txt")); err != nil {
		t.Fatal(err)
	}
	files = append(files, statFile(t, root, "texts/link.txt"))
	hashWithCache(t, root, files, later())
	type rec struct {
		k   fileKey
		sum digest
	}
	byID := map[fileID]rec{}
	for _, f := range files {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(root, f.Rel), &st); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(root, f.Rel))
		if err != nil {
			t.Fatal(err)
		}
		k := fileKey{dev: uint64(st.Dev), ino: uint64(st.Ino), size: st.Size, mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano()}
		byID[fileID{dev: k.dev, ino: k.ino}] = rec{k, sha256.Sum256(b)}
	}
	recs := slices.Collect(maps.Values(byID))
	slices.SortFunc(recs, func(a, b rec) int { return compareFileID(fileID{a.k.dev, a.k.ino}, fileID{b.k.dev, b.k.ino}) })
	want := append([]byte(cacheMagic), byte(len(root)), byte(len(root)>>8), 0, 0)
	want = append(want, root...)
	want = append(want, byte(len(recs)), 0, 0, 0, 0, 0, 0, 0)
	for _, r := range recs {
		want = putRecord(want, r.k, r.sum)
	}
	sum := sha256.Sum256(want)
	want = append(want, sum[:]...)
	c, _ := OpenHashCache(root)
	got, err := os.ReadFile(c.path)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 5 || !bytes.Equal(got, want) {
		t.Errorf("the cache file of %d records differs from its layout:\n got %x\nwant %x", len(recs), got, want)
	}
}

// TestHashCacheTrimRemovesAHalfWrittenCache: a push stopped while it wrote
// a cache (a second Ctrl-C exits at once; a kill) leaves it under its
// temporary name, 72 bytes a file, outside the bound; the next trim
// removes it once an hour old. One being written now, the check cache's
// own and the user's files stay.
func TestHashCacheTrimRemovesAHalfWrittenCache(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-2 * time.Hour)
	for _, name := range []string{".tmp-123456789", ".tmp-checked-42", ".tmp-notes"} {
		p := filepath.Join(dir, name)
		must(t, os.WriteFile(p, make([]byte, 1000), 0o600))
		must(t, os.Chtimes(p, old, old))
	}
	must(t, os.WriteFile(filepath.Join(dir, ".tmp-987"), make([]byte, 1000), 0o600))
	must(t, os.WriteFile(filepath.Join(dir, cacheName(0)), make([]byte, 100), 0o600))
	trimCaches(dir, filepath.Join(dir, cacheName(0)), 650)
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if want := ".tmp-987,.tmp-checked-42,.tmp-notes," + cacheName(0); strings.Join(left, ",") != want {
		t.Errorf("left %v, want %s: the half-written cache of two hours ago removed", left, want)
	}
}
