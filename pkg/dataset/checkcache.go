package dataset

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"sort"
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
const checkCacheMagic = "kubectl-tracebloc check cache v1\n"

// checkCachePrefix starts the name of each check cache (the hash caches
// are named by hex alone, and their trimming leaves other names alone).
const checkCachePrefix = "checked-"

// checkRecord is one file: dev, ino, size, mtime, ctime and the verdict,
// 8 bytes each, little endian.
const checkRecord = 6 * 8

// checkCacheMax bounds the check caches together (5.5 million files):
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

// checkCache is the loaded check cache of one dataset folder under one
// set of rules, and what this check adds to it.
type checkCache struct {
	path, root string
	rules      [sha256.Size]byte
	// recs are the records loaded, sorted by device and inode; used marks
	// those a file of this check matched, to keep them.
	recs []byte
	used []uint64
	// fresh are the records of the files read this time, in blocks so
	// that a million of them are never copied to grow.
	fresh  [][]byte
	cutoff int64
	// hits counts the files whose verdict came from the cache.
	hits int
}

// freshBlock is how many records one block of fresh records holds.
const freshBlock = 1 << 12

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

// openCheckCache loads the check cache of the dataset folder root from the
// folder dir. nil when there is no cache folder or the rules cannot be
// fingerprinted: every file is then read. A cache of other rules starts
// empty; one that is damaged, of another format or another folder is
// ignored with a note, and replaced after the check.
func openCheckCache(dir, root string, o TextOptions, start time.Time) (c *checkCache, note string) {
	if dir == "" {
		return nil, ""
	}
	rules, ok := checkRules(o)
	if !ok {
		return nil, ""
	}
	sum := sha256.Sum256([]byte(root))
	c = &checkCache{path: filepath.Join(dir, checkCachePrefix+hex.EncodeToString(sum[:16])), root: root, rules: rules,
		cutoff: start.Add(-racyWindow).UnixNano()}
	b, err := readWhole(c.path, checkCacheMax)
	if errors.Is(err, fs.ErrNotExist) {
		return c, ""
	}
	if err == nil {
		c.recs, err = c.parse(b)
	}
	if err != nil {
		c.recs = nil
		return c, fmt.Sprintf("ignoring the check cache %s (%v): the texts are read again and the cache is rewritten", c.path, err)
	}
	c.used = make([]uint64, (len(c.recs)/checkRecord+63)/64)
	return c, ""
}

// readWhole reads the regular file path of at most limit bytes. It looks
// before it opens: a FIFO planted under the name would be waited on.
func readWhole(path string, limit int64) ([]byte, error) {
	before, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	tooBig := fmt.Errorf("not a regular file of at most %d bytes", limit)
	if !before.Mode().IsRegular() || before.Size() > limit {
		return nil, tooBig
	}
	f, err := openRead(path)
	if err != nil {
		return nil, err
	}
	defer f.close()
	size, err := f.size()
	if err != nil {
		return nil, err
	}
	if size != before.Size() {
		return nil, errors.New("it changed while read")
	}
	b := make([]byte, size)
	if n, err := f.ReadAt(b, 0); err != nil && n != len(b) {
		return nil, err
	}
	return b, nil
}

// parse checks a cache file and returns its records, when its rules are
// this check's: the magic, the rules, the folder, the records in order,
// their count and the SHA-256 of all that.
func (c *checkCache) parse(b []byte) ([]byte, error) {
	if !bytes.HasPrefix(b, []byte(checkCacheMagic)) {
		return nil, errors.New("not a check cache of this version of kubectl-tracebloc")
	}
	head := len(checkCacheMagic) + sha256.Size + 4
	if len(b) < head+8+sha256.Size {
		return nil, errors.New("truncated")
	}
	body, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return nil, errors.New("damaged: its checksum does not match")
	}
	rules := body[len(checkCacheMagic) : len(checkCacheMagic)+sha256.Size]
	n := int(binary.LittleEndian.Uint32(body[head-4:]))
	if n > len(body)-head-8 {
		return nil, errors.New("truncated")
	}
	if folder := string(body[head : head+n]); folder != c.root {
		return nil, fmt.Errorf("it is the cache of another folder, %q", folder)
	}
	if !bytes.Equal(rules, c.rules[:]) {
		// Another task, other options or another build: none of its
		// verdicts hold, and none is wrong either.
		return nil, nil
	}
	recs := body[head+n : len(body)-8]
	count := binary.LittleEndian.Uint64(body[len(body)-8:])
	if len(recs)%checkRecord != 0 || count != uint64(len(recs)/checkRecord) {
		return nil, errors.New("truncated")
	}
	for i := checkRecord; i < len(recs); i += checkRecord {
		if compareFileID(recs[i-checkRecord:], recs[i:]) >= 0 {
			return nil, errors.New("its records are out of order")
		}
	}
	return recs, nil
}

// compareFileID orders two records by device, then inode.
func compareFileID(a, b []byte) int {
	if c := cmp.Compare(binary.LittleEndian.Uint64(a), binary.LittleEndian.Uint64(b)); c != 0 {
		return c
	}
	return cmp.Compare(binary.LittleEndian.Uint64(a[8:]), binary.LittleEndian.Uint64(b[8:]))
}

func appendCheckRecord(b []byte, k fileKey, verdict uint64) []byte {
	for _, v := range [...]uint64{k.dev, k.ino, uint64(k.size), uint64(k.mtime), uint64(k.ctime), verdict} {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return b
}

// warm tells whether the cache holds any verdict to look up: a first
// check reads every file without looking first.
func (c *checkCache) warm() bool { return c != nil && len(c.recs) > 0 }

// lookup returns the verdict cached for the file with key k, and the
// record's index, only when every part of the key matches.
func (c *checkCache) lookup(k fileKey) (textFile, int, bool) {
	if !c.warm() {
		return textFile{}, 0, false
	}
	var want [checkRecord]byte
	appendCheckRecord(want[:0], k, 0)
	n := len(c.recs) / checkRecord
	i := sort.Search(n, func(i int) bool { return compareFileID(c.recs[i*checkRecord:], want[:]) >= 0 })
	if i == n {
		return textFile{}, 0, false
	}
	rec := c.recs[i*checkRecord : (i+1)*checkRecord]
	if !bytes.Equal(rec[:5*8], want[:5*8]) {
		return textFile{}, 0, false
	}
	v := binary.LittleEndian.Uint64(rec[5*8:])
	return textFile{read: true, empty: v&verdictEmpty != 0, words: int(uint32(v))}, i, true
}

// hit keeps the record i for the file that matched it.
func (c *checkCache) hit(i int) {
	c.used[i/64] |= 1 << (i % 64)
	c.hits++
}

// add records the verdict of a file read whole and found good, unless it
// changed too close to the start of the check to be told from a later
// write, or its verdict does not fit a record.
func (c *checkCache) add(st fileStat, res textFile) {
	if c == nil || !st.keyed || !res.read || st.key.mtime >= c.cutoff || st.key.ctime >= c.cutoff ||
		res.words < 0 || res.words > math.MaxUint32 {
		return
	}
	v := uint64(res.words)
	if res.empty {
		v |= verdictEmpty
	}
	if len(c.fresh) == 0 || len(c.fresh[len(c.fresh)-1]) == freshBlock*checkRecord {
		c.fresh = append(c.fresh, make([]byte, 0, freshBlock*checkRecord))
	}
	last := &c.fresh[len(c.fresh)-1]
	*last = appendCheckRecord(*last, st.key, v)
}

// freshRecords sorts the fresh records by device and inode in place.
type freshRecords [][]byte

func (f freshRecords) Len() int {
	if len(f) == 0 {
		return 0
	}
	return (len(f)-1)*freshBlock + len(f[len(f)-1])/checkRecord
}

func (f freshRecords) at(i int) []byte {
	b := f[i/freshBlock]
	j := i % freshBlock * checkRecord
	return b[j : j+checkRecord]
}

func (f freshRecords) Less(i, j int) bool { return compareFileID(f.at(i), f.at(j)) < 0 }

func (f freshRecords) Swap(i, j int) {
	var t [checkRecord]byte
	a, b := f.at(i), f.at(j)
	copy(t[:], a)
	copy(a, b)
	copy(b, t[:])
}

// save writes the records of this check over the folder's cache: the
// loaded ones a file matched and those of the files read, merged in order
// (two names of one file, hard links, keep one). It is written under a
// temporary name first, so that a reader never sees half of it; then the
// check caches are trimmed to checkCacheMax.
func (c *checkCache) save() error {
	if c == nil {
		return nil
	}
	fresh := freshRecords(c.fresh)
	sort.Sort(fresh)
	old := len(c.recs) / checkRecord
	kept := 0
	for _, w := range c.used {
		kept += bits.OnesCount64(w)
	}
	if size := len(checkCacheMagic) + 2*sha256.Size + 4 + len(c.root) + 8 + (kept+fresh.Len())*checkRecord; size > checkCacheMax {
		// Too many files for the bound: no cache rather than a stale one.
		_ = os.Remove(c.path)
		return nil
	}
	dir := filepath.Dir(c.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".tmp-checked-*")
	if err != nil {
		return err
	}
	h := sha256.New()
	w := bufio.NewWriterSize(tmp, 256<<10)
	put := func(b []byte) {
		_, _ = w.Write(b)
		_, _ = h.Write(b)
	}
	put([]byte(checkCacheMagic))
	put(c.rules[:])
	put(binary.LittleEndian.AppendUint32(nil, uint32(len(c.root))))
	put([]byte(c.root))
	var prev []byte
	count := uint64(0)
	emit := func(rec []byte) {
		if prev != nil && compareFileID(prev, rec) == 0 {
			return
		}
		put(rec)
		prev = rec
		count++
	}
	i, j := 0, 0
	for {
		for i < old && c.used[i/64]&(1<<(i%64)) == 0 {
			i++
		}
		switch {
		case i < old && (j == fresh.Len() || compareFileID(c.recs[i*checkRecord:], fresh.at(j)) <= 0):
			emit(c.recs[i*checkRecord : (i+1)*checkRecord])
			i++
		case j < fresh.Len():
			emit(fresh.at(j))
			j++
		}
		if i >= old && j >= fresh.Len() {
			break
		}
	}
	put(binary.LittleEndian.AppendUint64(nil, count))
	_, _ = w.Write(h.Sum(nil))
	err = w.Flush()
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), c.path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	trimCheckCaches(dir, c.path, checkCacheMax)
	return nil
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
		if !strings.HasPrefix(e.Name(), checkCachePrefix) {
			continue
		}
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		all = append(all, cached{filepath.Join(dir, e.Name()), info.Size(), info.ModTime()})
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
