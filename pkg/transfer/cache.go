package transfer

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// The hash cache keeps the SHA-256 of each local file a push read, keyed
// on what stat says of the file: device, inode, size, and the modification
// and change times in nanoseconds. A re-push of an unchanged dataset takes
// every hash from it and reads no file. An entry is used only while every
// key matches: writing to a file changes its mtime, and putting the mtime
// back (touch -d, a copy that keeps times) changes its ctime, which no
// user call can set. One file per dataset folder, in the user's cache
// folder; the folder is kept under CacheMaxBytes.

// CacheMaxBytes bounds the cache folder: past it the caches of the
// datasets pushed longest ago go (72 bytes a file: 3.7 million files).
const CacheMaxBytes = 256 << 20

// cacheDirEnv names the folder the cache lives in, in place of the user's
// cache folder (tests, and users who keep it elsewhere).
const cacheDirEnv = "TRACEBLOC_CACHE_DIR"

// cacheMagic starts every cache file; the version changes with the layout.
const cacheMagic = "kubectl-tracebloc hash cache v1\n"

// cacheRecord is one file: dev, ino, size, mtime, ctime (8 bytes each,
// little endian) and the SHA-256.
const cacheRecord = 5*8 + sha256.Size

// racyWindow: a file whose mtime or ctime is this close to the start of
// the push is not cached. Timestamps tick coarsely (a few milliseconds on
// Linux, 1 s on HFS+ and ext3, 2 s on FAT, whose ctime is its mtime): a
// write just after the file was hashed could leave both times as they
// were. The window must be wider than the coarsest tick: a write after the
// push began is then dated after every time the cache kept.
const racyWindow = 3 * time.Second

// fileKey is what stat says of a file; a cached hash holds while it is equal.
type fileKey struct {
	dev, ino           uint64
	size, mtime, ctime int64
}

// HashCache is the loaded hash cache of one dataset folder: its records,
// sorted by device and inode.
type HashCache struct {
	path string
	root string
	recs []byte
}

// cacheDir is where the caches live.
func cacheDir() (string, error) {
	if d := os.Getenv(cacheDirEnv); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "kubectl-tracebloc", "hashes"), nil
}

// OpenHashCache loads the hash cache of the dataset folder root (an
// absolute path). A cache that is missing starts empty; one that is
// damaged, of another format or another folder is ignored and replaced
// after the push, and note says so. Without a cache folder (no home
// folder), c is nil and the push hashes every file it needs to.
func OpenHashCache(root string) (c *HashCache, note string) {
	dir, err := cacheDir()
	if err != nil {
		return nil, ""
	}
	sum := sha256.Sum256([]byte(root))
	c = &HashCache{path: filepath.Join(dir, hex.EncodeToString(sum[:16])), root: root}
	b, err := readCacheFile(c.path, CacheMaxBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return c, ""
	}
	if err == nil {
		c.recs, err = parseCache(b, root)
	}
	if err != nil {
		return c, fmt.Sprintf("ignoring the hash cache %s (%v): the files it covered are hashed again and the cache is rewritten after the push", c.path, err)
	}
	return c, ""
}

// readCacheFile reads the cache folder's file path whole when it is a
// regular file of at most limit bytes. It is looked at before it is
// opened: opening a FIFO planted under that name would wait for a writer,
// and a link to a device could be read without end.
func readCacheFile(path string, limit int64) ([]byte, error) {
	pre, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !pre.Mode().IsRegular() || pre.Size() > limit {
		return nil, fmt.Errorf("not a regular file of at most %d bytes", limit)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !os.SameFile(pre, st) || !st.Mode().IsRegular() || st.Size() > limit {
		return nil, fmt.Errorf("not a regular file of at most %d bytes", limit)
	}
	b := make([]byte, st.Size())
	if _, err := f.ReadAt(b, 0); err != nil {
		return nil, err
	}
	return b, nil
}

// parseCache checks a cache file and returns its records: the magic, the
// folder it is of, the record count, the records in order and the
// SHA-256 of all that must match.
func parseCache(b []byte, root string) ([]byte, error) {
	if !bytes.HasPrefix(b, []byte(cacheMagic)) {
		return nil, errors.New("not a cache of this version of kubectl-tracebloc")
	}
	if len(b) < len(cacheMagic)+4+8+sha256.Size {
		return nil, errors.New("truncated")
	}
	body, tail := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if sum := sha256.Sum256(body); !bytes.Equal(sum[:], tail) {
		return nil, errors.New("damaged: its checksum does not match")
	}
	rest := body[len(cacheMagic):]
	n := int(binary.LittleEndian.Uint32(rest))
	if n > len(rest)-4-8 {
		return nil, errors.New("truncated")
	}
	if string(rest[4:4+n]) != root {
		return nil, fmt.Errorf("it is the cache of another folder, %q", rest[4:4+n])
	}
	rest = rest[4+n:]
	count := binary.LittleEndian.Uint64(rest)
	recs := rest[8:]
	if count != uint64(len(recs)/cacheRecord) || len(recs)%cacheRecord != 0 {
		return nil, errors.New("truncated")
	}
	for i := cacheRecord; i < len(recs); i += cacheRecord {
		if compareID(recs[i-cacheRecord:], recs[i:]) >= 0 {
			return nil, errors.New("its records are out of order")
		}
	}
	return recs, nil
}

// compareID orders two records by device, then inode.
func compareID(a, b []byte) int {
	if c := cmp.Compare(binary.LittleEndian.Uint64(a), binary.LittleEndian.Uint64(b)); c != 0 {
		return c
	}
	return cmp.Compare(binary.LittleEndian.Uint64(a[8:]), binary.LittleEndian.Uint64(b[8:]))
}

func putRecord(b []byte, k fileKey, sum digest) []byte {
	b = binary.LittleEndian.AppendUint64(b, k.dev)
	b = binary.LittleEndian.AppendUint64(b, k.ino)
	b = binary.LittleEndian.AppendUint64(b, uint64(k.size))
	b = binary.LittleEndian.AppendUint64(b, uint64(k.mtime))
	b = binary.LittleEndian.AppendUint64(b, uint64(k.ctime))
	return append(b, sum[:]...)
}

// lookup returns the hash cached for the file with key k, only when every
// part of the key matches.
func (c *HashCache) lookup(k fileKey) (digest, bool) {
	var sum digest
	if c == nil || len(c.recs) == 0 {
		return sum, false
	}
	want := putRecord(make([]byte, 0, cacheRecord), k, sum)
	n := len(c.recs) / cacheRecord
	i := sort.Search(n, func(i int) bool { return compareID(c.recs[i*cacheRecord:], want) >= 0 })
	if i == n {
		return sum, false
	}
	rec := c.recs[i*cacheRecord : (i+1)*cacheRecord]
	if !bytes.Equal(rec[:40], want[:40]) {
		return sum, false
	}
	copy(sum[:], rec[40:])
	return sum, true
}

// Save writes the hashes l holds of files with a known key, except those
// changed within racyWindow of start (when the push began), over the
// dataset's cache; then the cache folder is trimmed to CacheMaxBytes.
func (c *HashCache) Save(l *Local, start time.Time) error {
	if c == nil || l == nil {
		return nil
	}
	cutoff := start.Add(-racyWindow).UnixNano()
	recs := make([]byte, 0, len(l.files)*cacheRecord)
	for _, e := range l.files {
		k, ok := e.key()
		if !ok || k.mtime >= cutoff || k.ctime >= cutoff {
			continue
		}
		recs = putRecord(recs, k, e.sum)
	}
	n := len(recs) / cacheRecord
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return compareID(recs[a*cacheRecord:], recs[b*cacheRecord:]) })
	out := make([]byte, 0, len(cacheMagic)+4+len(c.root)+8+len(recs)+sha256.Size)
	out = append(out, cacheMagic...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(c.root)))
	out = append(out, c.root...)
	out = binary.LittleEndian.AppendUint64(out, 0)
	countAt := len(out) - 8
	var prev []byte
	kept := 0
	for _, i := range idx {
		rec := recs[i*cacheRecord : (i+1)*cacheRecord]
		// Two names of one file (hard links) carry one hash.
		if prev != nil && compareID(prev, rec) == 0 {
			continue
		}
		out = append(out, rec...)
		prev = rec
		kept++
	}
	binary.LittleEndian.PutUint64(out[countAt:], uint64(kept))
	sum := sha256.Sum256(out)
	out = append(out, sum[:]...)
	if len(out) > CacheMaxBytes {
		// Too many files for the bound: no cache rather than a stale one.
		_ = os.Remove(c.path)
		return nil
	}
	if err := replaceCacheFile(c.path, out); err != nil {
		return err
	}
	trimCaches(filepath.Dir(c.path), c.path, CacheMaxBytes)
	return nil
}

// replaceCacheFile writes data over the file path of the cache folder:
// under a temporary name first, so that a reader never sees half of it.
func replaceCacheFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
	}
	return err
}

// trimCaches removes the least recently written caches of dir until the
// rest take at most max bytes; keep stays.
func trimCaches(dir, keep string, max int64) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type cacheFile struct {
		path string
		size int64
		at   time.Time
	}
	var files []cacheFile
	var total int64
	for _, e := range entries {
		// TRACEBLOC_CACHE_DIR may name a folder that holds other files too:
		// only the caches (named by their folder's hash) are ever removed.
		if !isCacheName(e.Name()) {
			continue
		}
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		files = append(files, cacheFile{filepath.Join(dir, e.Name()), info.Size(), info.ModTime()})
		total += info.Size()
	}
	slices.SortFunc(files, func(a, b cacheFile) int { return a.at.Compare(b.at) })
	for _, f := range files {
		if total <= max {
			return
		}
		if f.path == keep {
			continue
		}
		if os.Remove(f.path) == nil {
			total -= f.size
		}
	}
}

// isCacheName reports whether name is that of a cache file: the hex of
// 16 bytes of its folder's SHA-256.
func isCacheName(name string) bool {
	if len(name) != 32 {
		return false
	}
	_, err := hex.DecodeString(name)
	return err == nil && strings.ToLower(name) == name
}
