package dataset

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The check cache keeps, for each text file that passed its check, what
// the check learned of it (empty, how many words), so that a re-push of an
// unchanged dataset does not read a million texts again. It follows the
// rules of the transfer's hash cache: an entry is keyed on what stat says
// of the file (device, inode, size, modification and change times in
// nanoseconds) and used only while every part matches; writing to a file
// changes its mtime, and putting the mtime back changes its ctime, which
// no user call can set. Each cache also carries a fingerprint of the rules
// that gave its verdicts (the task, what of it changes a file's verdict,
// and the plugin's executable): a verdict is never trusted by other rules
// or another build. One file per dataset folder in the user's cache folder,
// beside the hash caches but under its own names.

// checkCacheMagic starts every check cache; the version changes with the
// layout.
const checkCacheMagic = checkCacheFamily + "2\n"

// checkCachePrefix starts the name of each check cache (the hash caches
// are named by hex alone, and their trimming leaves other names alone).
const checkCachePrefix = "checked-"

// checkCacheTemp starts the name a cache is written under before it
// takes its place.
const checkCacheTemp = ".tmp-" + checkCachePrefix

// checkRecord is the fixed part of a record: dev, ino, size, mtime, ctime
// and the verdict, 8 bytes each, little endian. It follows the file's
// path under the root (2 bytes of length, then the path). Records are
// sorted by path, as the check goes through the files: the cache is read
// and written alongside, and never held whole (a million records would
// take 50 MB).
const checkRecord = 6 * 8

// checkCacheMax bounds the check caches together (about 4 million files):
// past it the caches of the folders checked longest ago go.
const checkCacheMax = 256 << 20

// racyWindow: a file whose mtime or ctime is this close to the start of
// the check is not cached. Timestamps tick coarsely (a few milliseconds on
// Linux, 1 s on HFS+ and ext3, 2 s on FAT): a write just after the file
// was read could leave both as they were. Wider than the coarsest tick, a
// write after the check began is dated after every time the cache kept.
const racyWindow = 3 * time.Second

// verdictEmpty marks a verdict whose file holds only white space; the low
// 32 bits count its words.
const verdictEmpty = 1 << 63

// cacheClock is the time a check starts at; tests move it on so that the
// files they have just written are not within racyWindow.
var cacheClock = time.Now

// fileKey is what stat says of a file; a cached verdict holds while it is equal.
type fileKey struct {
	dev, ino           uint64
	size, mtime, ctime int64
}

// fileStat is what stat said of one file of the dataset.
type fileStat struct {
	regular bool
	key     fileKey
	// keyed: key has every part (not where stat gives no change time).
	keyed bool
}

func (s fileStat) modTime() time.Time { return time.Unix(0, s.key.mtime) }

// cachedVerdict is the record the cache holds for a file's path: its key
// and what the check learned.
type cachedVerdict struct {
	key     fileKey
	verdict uint64
}

func (v cachedVerdict) textFile() textFile {
	return textFile{read: true, empty: v.verdict&verdictEmpty != 0, words: int(uint32(v.verdict))}
}

// checkCache is the check cache of one dataset folder under one set of
// rules: the one found, read in path order as the check goes, and the one
// written for the next check, in the same order.
type checkCache struct {
	path, root string
	rules      [sha256.Size]byte
	cutoff     int64

	in   *os.File
	rd   *bufio.Reader
	left int64 // bytes of records still to read
	name []byte
	// spare is the buffer the next name is read into; buf one record's.
	spare []byte
	buf   [2 + checkRecord]byte
	cur   cachedVerdict
	at    bool // name and cur hold the next record

	out     *os.File
	w       *bufio.Writer
	h       hash.Hash
	written int64
	count   uint64
	werr    error
	// rec is the buffer a record is written from.
	rec []byte

	// hits counts the files whose verdict came from the cache.
	hits int
}

// checkRules is the fingerprint of what gives a text file its verdict:
// the layout of the cache, the options that change a verdict, and the
// executable that checks (its path and what stat says of it: a new build
// is a new file). false when the executable cannot be told apart.
func checkRules(o TextOptions) ([sha256.Size]byte, bool) {
	var sum [sha256.Size]byte
	exe, err := os.Executable()
	if err != nil {
		return sum, false
	}
	st, err := statPath(exe)
	if err != nil || !st.keyed {
		return sum, false
	}
	format, err := json.Marshal(o.Format)
	if err != nil {
		return sum, false
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\ntask %q\nbio %t\nformat %s\nexe %q %+v\n", checkCacheMagic, o.Task, o.BIO, format, exe, st.key)
	h.Sum(sum[:0])
	return sum, true
}

// openCheckCache opens the check cache of the dataset folder root in the
// folder dir, and a new one to write beside it. nil when there is no cache
// folder or the rules cannot be fingerprinted: every file is then read. A
// cache of other rules is passed over; one that is damaged, of another
// format or another folder is ignored with a note. Either is replaced
// after the check.
func openCheckCache(dir, root string, o TextOptions, start time.Time) (c *checkCache, notes []string) {
	if dir == "" {
		return nil, nil
	}
	rules, ok := checkRules(o)
	if !ok {
		return nil, nil
	}
	sum := sha256.Sum256([]byte(root))
	c = &checkCache{path: filepath.Join(dir, checkCachePrefix+hex.EncodeToString(sum[:16])), root: root, rules: rules,
		cutoff: start.Add(-racyWindow).UnixNano()}
	if err := c.openIn(); err != nil && !errors.Is(err, fs.ErrNotExist) {
		notes = append(notes, fmt.Sprintf("ignoring the check cache %s (%v): the texts are read again and the cache is rewritten", c.path, err))
	}
	if err := c.openOut(); err != nil {
		notes = append(notes, fmt.Sprintf("could not write the check cache: %v (the next push reads every text again)", err))
	}
	return c, notes
}

// openIn opens the cache found and checks it whole (the magic, the rules,
// the folder, the count and the SHA-256 of all that) before a record of it
// is used. It is looked at before it is opened: a FIFO planted under its
// name would be waited on.
func (c *checkCache) openIn() error {
	before, err := os.Lstat(c.path)
	if err != nil {
		return err
	}
	if !before.Mode().IsRegular() || before.Size() > checkCacheMax {
		return fmt.Errorf("not a regular file of at most %d bytes", checkCacheMax)
	}
	f, err := os.OpenFile(c.path, os.O_RDONLY|openNoFollow, 0)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err == nil && (!os.SameFile(before, st) || !st.Mode().IsRegular()) {
		err = errors.New("it was replaced while opened")
	}
	head := int64(len(checkCacheMagic) + sha256.Size + 4)
	if err == nil && st.Size() < head+8+sha256.Size {
		err = errors.New("truncated")
	}
	if err == nil {
		err = c.checkIn(f, st.Size(), head)
	}
	if err != nil || c.left < 0 {
		_ = f.Close()
		c.left = 0
		return err
	}
	c.in, c.rd = f, bufio.NewReaderSize(f, 64<<10)
	c.next()
	return nil
}

// checkIn reads the cache f of size bytes once to check it, then places
// it at its first record; c.left is -1 for a cache of other rules.
func (c *checkCache) checkIn(f *os.File, size, head int64) error {
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, size-sha256.Size)); err != nil {
		return err
	}
	tail := make([]byte, 8+sha256.Size)
	if _, err := f.ReadAt(tail, size-int64(len(tail))); err != nil {
		return err
	}
	if !bytes.Equal(h.Sum(nil), tail[8:]) {
		return errors.New("damaged: its checksum does not match")
	}
	b := make([]byte, head)
	if _, err := f.ReadAt(b, 0); err != nil {
		return err
	}
	if !bytes.HasPrefix(b, []byte(checkCacheMagic)) {
		return errors.New("not a check cache of this version of kubectl-tracebloc")
	}
	n := int64(binary.LittleEndian.Uint32(b[head-4:]))
	if n > size-head-8-sha256.Size {
		return errors.New("truncated")
	}
	folder := make([]byte, n)
	if _, err := f.ReadAt(folder, head); err != nil {
		return err
	}
	if string(folder) != c.root {
		return fmt.Errorf("it is the cache of another folder, %q", folder)
	}
	if !bytes.Equal(b[len(checkCacheMagic):len(checkCacheMagic)+sha256.Size], c.rules[:]) {
		// Another task, other options or another build: none of its
		// verdicts hold, and none is wrong either.
		c.left = -1
		return nil
	}
	c.left = size - head - n - int64(len(tail))
	_, err := f.Seek(head+n, io.SeekStart)
	return err
}

// next reads the next record; at the end, or at a record out of order
// (which the checksum says was written so), nothing more is matched.
func (c *checkCache) next() {
	c.at = false
	if c.left < 2+checkRecord {
		return
	}
	rec := c.buf[:2+checkRecord]
	if _, err := io.ReadFull(c.rd, rec[:2]); err != nil {
		return
	}
	n := int(binary.LittleEndian.Uint16(rec))
	if int64(2+n+checkRecord) > c.left {
		c.left = 0
		return
	}
	c.left -= int64(2 + n + checkRecord)
	name := slices.Grow(c.spare[:0], n)[:n]
	if _, err := io.ReadFull(c.rd, name); err != nil {
		return
	}
	rec = rec[2:]
	if _, err := io.ReadFull(c.rd, rec); err != nil {
		return
	}
	if len(c.name) > 0 && string(name) <= string(c.name) {
		c.left = 0
		return
	}
	c.name, c.spare = name, c.name
	u := func(i int) uint64 { return binary.LittleEndian.Uint64(rec[i*8:]) }
	c.cur = cachedVerdict{key: fileKey{dev: u(0), ino: u(1), size: int64(u(2)), mtime: int64(u(3)), ctime: int64(u(4))}, verdict: u(5)}
	c.at = true
}

// find returns the record of the file rel, if the cache holds one. The
// files must be asked for in path order.
func (c *checkCache) find(rel string) (cachedVerdict, bool) {
	if c == nil {
		return cachedVerdict{}, false
	}
	for c.at && string(c.name) < rel {
		c.next()
	}
	return c.cur, c.at && string(c.name) == rel
}

// openOut starts the cache for the next check, under a temporary name.
func (c *checkCache) openOut() error {
	dir := filepath.Dir(c.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, checkCacheTemp+"*")
	if err != nil {
		return err
	}
	c.out, c.w, c.h = f, bufio.NewWriterSize(f, 256<<10), sha256.New()
	c.put([]byte(checkCacheMagic))
	c.put(c.rules[:])
	c.put(binary.LittleEndian.AppendUint32(nil, uint32(len(c.root))))
	c.put([]byte(c.root))
	return nil
}

func (c *checkCache) put(b []byte) {
	if c.werr != nil {
		return
	}
	c.written += int64(len(b))
	if c.written > checkCacheMax {
		c.werr = errors.New("too many files for the cache's bound")
		return
	}
	_, c.werr = c.w.Write(b)
	_, _ = c.h.Write(b)
}

// keep writes again the record of the file rel whose verdict came from it.
func (c *checkCache) keep(rel string, v cachedVerdict) {
	c.hits++
	c.record(rel, v)
}

// add records the verdict of the file rel, read whole and found good,
// unless it changed too close to the start of the check to be told from a
// later write, or its verdict does not fit a record.
func (c *checkCache) add(rel string, st fileStat, res textFile) {
	if c == nil || !st.keyed || !res.read || st.key.mtime >= c.cutoff || st.key.ctime >= c.cutoff ||
		res.words < 0 || res.words > math.MaxUint32 {
		return
	}
	v := uint64(res.words)
	if res.empty {
		v |= verdictEmpty
	}
	c.record(rel, cachedVerdict{key: st.key, verdict: v})
}

func (c *checkCache) record(rel string, v cachedVerdict) {
	if c.out == nil || len(rel) > math.MaxUint16 {
		return
	}
	c.rec = binary.LittleEndian.AppendUint16(c.rec[:0], uint16(len(rel)))
	c.rec = append(c.rec, rel...)
	k := v.key
	for _, x := range [...]uint64{k.dev, k.ino, uint64(k.size), uint64(k.mtime), uint64(k.ctime), v.verdict} {
		c.rec = binary.LittleEndian.AppendUint64(c.rec, x)
	}
	c.put(c.rec)
	c.count++
}

// close ends the cache read and puts the one written in its place (a
// reader never sees half of it); then the check caches are trimmed to
// checkCacheMax. A cache that could not be written whole is removed: no
// cache rather than a stale one.
func (c *checkCache) close() error {
	if c == nil {
		return nil
	}
	if c.in != nil {
		_ = c.in.Close()
	}
	if c.out == nil {
		return nil
	}
	c.put(binary.LittleEndian.AppendUint64(nil, c.count))
	if c.werr == nil {
		_, c.werr = c.w.Write(c.h.Sum(nil))
	}
	err := c.werr
	if err == nil {
		err = c.w.Flush()
	}
	if cerr := c.out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(c.out.Name(), c.path)
	}
	if err != nil {
		_ = os.Remove(c.out.Name())
		_ = os.Remove(c.path)
		return err
	}
	trimCheckCaches(filepath.Dir(c.path), c.path, checkCacheMax)
	return nil
}

// checkCacheFamily starts every check cache, whatever its version.
const checkCacheFamily = "kubectl-tracebloc check cache v"

// isCheckCache tells whether the file at path starts as a check cache
// does (or, when empty may be, holds nothing: a cache stopped before it
// wrote a byte). It is opened without following a link or waiting on a
// FIFO.
func isCheckCache(path string, empty bool) bool {
	f, err := os.OpenFile(path, os.O_RDONLY|openNoFollow, 0)
	if err != nil {
		return false
	}
	defer func() { _ = f.Close() }()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return false
	}
	head := make([]byte, len(checkCacheFamily))
	n, _ := io.ReadFull(f, head)
	return string(head[:n]) == checkCacheFamily || (empty && n == 0)
}

// trimCheckCaches removes the check caches of dir written longest ago
// until the rest take at most limit bytes; keep stays.
func trimCheckCaches(dir, keep string, limit int64) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type cached struct {
		path string
		size int64
		at   time.Time
	}
	var all []cached
	var total int64
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if strings.HasPrefix(e.Name(), checkCacheTemp) && time.Since(info.ModTime()) > time.Hour && isCheckCache(p, true) {
			// Left by a check that was stopped while it wrote.
			_ = os.Remove(p)
			continue
		}
		// The folder may be shared with the user's own files: only what
		// starts as a check cache of some version is counted or removed.
		if !strings.HasPrefix(e.Name(), checkCachePrefix) || !isCheckCache(p, false) {
			continue
		}
		all = append(all, cached{p, info.Size(), info.ModTime()})
		total += info.Size()
	}
	slices.SortFunc(all, func(a, b cached) int { return a.at.Compare(b.at) })
	for _, f := range all {
		if total <= limit {
			return
		}
		if f.path != keep && os.Remove(f.path) == nil {
			total -= f.size
		}
	}
}
