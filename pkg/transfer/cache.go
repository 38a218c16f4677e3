package transfer

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
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

// beforeCacheOpen, when tests set it, runs between readCacheFile's stat
// and its open.
var beforeCacheOpen func(path string)

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
	if beforeCacheOpen != nil {
		beforeCacheOpen(path)
	}
	// Without blocking: a FIFO put in the file's place since the stat
	// would hold an open for reading until someone writes to it.
	f, err := os.OpenFile(path, os.O_RDONLY|openNonblock, 0)
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
// dataset's cache; then the cache folder is trimmed to CacheMaxBytes. The
// file is written as it is put together, hashed on the way: beside l it
// takes 4 bytes a file (the order of the records), where a copy of every
// record and of the whole file took 150.
func (c *HashCache) Save(l *Local, start time.Time) error {
	if c == nil || l == nil {
		return nil
	}
	cutoff := start.Add(-racyWindow).UnixNano()
	cached := func(i int) (fileKey, bool) {
		e, ok := l.at(i)
		if !ok {
			return fileKey{}, false
		}
		k, ok := e.key(l.files[i])
		return k, ok && k.mtime < cutoff && k.ctime < cutoff
	}
	n := 0
	for i := range l.recs {
		if _, ok := cached(i); ok {
			n++
		}
	}
	order := make([]int32, 0, n)
	for i := range l.recs {
		if _, ok := cached(i); ok {
			order = append(order, int32(i))
		}
	}
	id := func(i int32) fileID { return l.recs[i].id }
	slices.SortFunc(order, func(a, b int32) int { return compareFileID(id(a), id(b)) })
	// Two names of one file (hard links) carry one hash.
	order = slices.CompactFunc(order, func(a, b int32) bool { return id(a) == id(b) })
	size := len(cacheMagic) + 4 + len(c.root) + 8 + len(order)*cacheRecord + sha256.Size
	if size > CacheMaxBytes {
		// Too many files for the bound: no cache rather than a stale one.
		_ = os.Remove(c.path)
		return nil
	}
	err := writeCacheFile(c.path, func(w io.Writer) error {
		h := sha256.New()
		out := io.MultiWriter(w, h)
		b := make([]byte, 0, 4<<10)
		b = append(b, cacheMagic...)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(c.root)))
		b = append(b, c.root...)
		b = binary.LittleEndian.AppendUint64(b, uint64(len(order)))
		for _, i := range order {
			k, _ := cached(int(i))
			b = putRecord(b, k, l.recs[i].sum)
			if len(b) > cap(b)-cacheRecord {
				if _, err := out.Write(b); err != nil {
					return err
				}
				b = b[:0]
			}
		}
		if _, err := out.Write(b); err != nil {
			return err
		}
		_, err := w.Write(h.Sum(nil))
		return err
	})
	if err != nil {
		return err
	}
	trimCaches(filepath.Dir(c.path), c.path, CacheMaxBytes)
	return nil
}

// replaceCacheFile writes data over the file path of the cache folder.
func replaceCacheFile(path string, data []byte) error {
	return writeCacheFile(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// writeCacheFile writes what write writes over the file path of the cache
// folder: under a temporary name first, so that a reader never sees half
// of it.
func writeCacheFile(path string, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, cacheTemp+"*")
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(tmp, 64<<10)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
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
		// only the caches (named by their folder's hash) are ever removed,
		// and what a push stopped while writing one left (never in use an
		// hour on).
		if !isCacheName(e.Name()) && !isCacheTemp(e.Name()) {
			continue
		}
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		if isCacheTemp(e.Name()) {
			if time.Since(info.ModTime()) > time.Hour {
				_ = os.Remove(filepath.Join(dir, e.Name()))
			}
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

// cacheTemp starts the name a cache file is written under before it takes
// its place; os.CreateTemp ends it with digits.
const cacheTemp = ".tmp-"

// isCacheTemp reports whether name is one writeCacheFile writes under (the
// check cache's temporary files, .tmp-checked-*, are its own to trim).
func isCacheTemp(name string) bool {
	digits, ok := strings.CutPrefix(name, cacheTemp)
	return ok && digits != "" && strings.Trim(digits, "0123456789") == ""
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
