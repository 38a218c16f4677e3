//go:build linux

package agent

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
)

// The agent keeps one record per file of a push in memory (a million
// files is a dataset users push): records are fixed-size where they can
// be, each path is held once, and lookups by path go through a sorted
// slice rather than a map of strings. A first push of 1 000 000 files took
// 1.66 GB with maps of hex strings; the stage Pod's limit is 1 Gi.

// digest is a SHA-256. The zero digest stands for "not known": no content
// hashes to it in practice.
type digest [sha256.Size]byte

func (d digest) known() bool { return d != digest{} }

func (d digest) hex() string { return hex.EncodeToString(d[:]) }

// parseDigest reads a hex SHA-256 as the plugin writes it; false when s
// is not one.
func parseDigest(s string) (digest, bool) {
	var d digest
	if len(s) != 2*sha256.Size {
		return d, false
	}
	if _, err := hex.Decode(d[:], []byte(s)); err != nil {
		return digest{}, false
	}
	return d, true
}

// wantDigest reads the hash the plan or the stream gives for a file: false
// when it is not 64 characters long (malformed). Damage that keeps the
// length (not hex) is the zero digest, which no file matches: the file is
// reported as a mismatch and sent again.
func wantDigest(s string) (digest, bool) {
	d, _ := parseDigest(s)
	return d, len(s) == 2*sha256.Size
}

// comparePath orders paths by folder, then name, as "folder/name" splits.
func comparePath(folderA, nameA, folderB, nameB string) int {
	if c := strings.Compare(folderA, folderB); c != 0 {
		return c
	}
	return strings.Compare(nameA, nameB)
}

// fileList is the regular files of a copy: each name as its folder listed
// it, folders interned, sorted by folder and name.
type fileList struct {
	// folders[0] is "", the top level; the others are sorted.
	folders []string
	files   []listed
}

// listed is one file of a fileList.
type listed struct {
	name   string
	folder int32
	// known: sum is the file's hash, and info what stat said of the file
	// that was read.
	known bool
	info  fileInfo
	sum   digest
}

func (l *fileList) rel(i int) string {
	f := &l.files[i]
	if f.folder == 0 {
		return f.name
	}
	return l.folders[f.folder] + "/" + f.name
}

// folderOf is the folder of the i-th file.
func (l *fileList) folderOf(i int) string { return l.folders[l.files[i].folder] }

func (l *fileList) sort() {
	slices.SortFunc(l.files, func(a, b listed) int {
		if a.folder != b.folder {
			return int(a.folder) - int(b.folder)
		}
		return strings.Compare(a.name, b.name)
	})
}

// find is the index of folder/name in l, or -1.
func (l *fileList) find(folder, name string) int {
	if l == nil {
		return -1
	}
	fi, ok := slices.BinarySearch(l.folders[1:], folder)
	id := int32(fi + 1)
	if folder == "" {
		id, ok = 0, true
	}
	if !ok {
		return -1
	}
	i := sort.Search(len(l.files), func(i int) bool {
		f := &l.files[i]
		return f.folder > id || f.folder == id && f.name >= name
	})
	if i < len(l.files) && l.files[i].folder == id && l.files[i].name == name {
		return i
	}
	return -1
}

// planFile is one file of the plan with what the push learned of it.
type planFile struct {
	rel string
	// want is the plan's hash; open while the hash follows the files.
	want digest
	open bool
	// given: the hash came in the stream's hashes entry.
	given bool
	// seen: verify found the file in the partial copy.
	seen bool
	// reuse: the file is linked from the staged copy, not sent.
	reuse bool
	// stale: the file changed after it was verified (written through the
	// staged copy's link before the swap): the manifest leaves it out.
	stale bool
	// got is the hash of the file at rel in the partial copy as the
	// stream or the reuse wrote it, and, after verify, as verified.
	got hashed
}

// planTable is the plan, sorted by folder and name.
type planTable struct {
	files []planFile
	// keep is the seal of the staged copy's manifest when the plugin asks
	// to keep that copy in place ("": build a new one).
	keep string
	// sealed, with keep, is the count of files of a plan that keeps the
	// copy the inventory confirmed without naming them (0: the plan names
	// every file).
	sealed int
}

func (p *planTable) sort() {
	slices.SortFunc(p.files, func(a, b planFile) int {
		fa, na := split(a.rel)
		fb, nb := split(b.rel)
		return comparePath(fa, na, fb, nb)
	})
}

// find is the index of folder/name in the plan, or -1.
func (p *planTable) find(folder, name string) int {
	i := sort.Search(len(p.files), func(i int) bool {
		f, n := split(p.files[i].rel)
		return comparePath(f, n, folder, name) >= 0
	})
	if i < len(p.files) {
		if f, n := split(p.files[i].rel); f == folder && n == name {
			return i
		}
	}
	return -1
}

// findRel is find for a whole path.
func (p *planTable) findRel(rel string) int {
	folder, name := split(rel)
	return p.find(folder, name)
}

// sumField is a field of a message that maps paths to hashes, written one
// entry at a time: each calls put for every entry.
type sumField struct {
	name string
	each func(put func(rel string, sum digest))
}

// sendSums sends m with the sum fields added, writing their entries as they
// come: the message of a million files (90 MB of JSON) is never held whole.
// The plugin reads it as the proto.Message it is.
func (e *env) sendSums(m proto.Message, fields ...sumField) {
	head, err := json.Marshal(m)
	if err != nil {
		return
	}
	w := bufio.NewWriterSize(e.raw, 64<<10)
	_, _ = w.Write(head[:len(head)-1])
	var scratch []byte
	var hexSum [2 * sha256.Size]byte
	for _, f := range fields {
		scratch = proto.AppendJSONString(append(scratch[:0], ','), f.name)
		scratch = append(scratch, ':', '{')
		_, _ = w.Write(scratch)
		first := true
		f.each(func(rel string, sum digest) {
			scratch = scratch[:0]
			if !first {
				scratch = append(scratch, ',')
			}
			first = false
			hex.Encode(hexSum[:], sum[:])
			scratch = proto.AppendJSONString(scratch, rel)
			scratch = append(scratch, ':', '"')
			scratch = append(scratch, hexSum[:]...)
			scratch = append(scratch, '"')
			_, _ = w.Write(scratch)
		})
		_ = w.WriteByte('}')
	}
	_, _ = w.WriteString("}\n")
	// A broken stdout means the plugin is gone; the exit code still tells.
	_ = w.Flush()
}

// each calls put for every file of l whose hash is known.
func (l *fileList) each(put func(rel string, sum digest)) {
	if l == nil {
		return
	}
	for i := range l.files {
		if l.files[i].known {
			put(l.rel(i), l.files[i].sum)
		}
	}
}

// peakRSS is this process's peak resident memory (VmHWM) in bytes, 0 when
// /proc does not tell: the plugin reports it, the Pod's limit bounds it.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
