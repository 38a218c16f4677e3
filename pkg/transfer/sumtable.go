package transfer

import (
	"encoding/hex"
	"slices"
	"strings"
)

// sumTable is the files the volume holds (a copy of the table) with their
// hashes, as the agent reported them: one record of a path and a
// fixed-size digest per file, in the agent's order (by folder, then name),
// for lookups by binary search. The inventory of a million files took two
// maps of strings, 400 MB in all; this takes about 75 MB. Records are kept
// in blocks, so the table grows without copying what it holds (a slice
// grown by append holds its old and new arrays at once).
type sumTable struct {
	blocks [][]sumEntry
	n      int
	// disordered: an entry came out of the agent's order; the table is
	// put in order before it is read.
	disordered bool
}

type sumEntry struct {
	rel string
	sum digest
}

// sumBlock is the number of records of a block.
const sumBlock = 8192

// tableOf is a table of the entries of s.
func tableOf(s Sums) *sumTable {
	t := &sumTable{}
	for rel, sum := range s {
		t.add(rel, sum)
	}
	return t
}

// comparePaths orders paths as the agent lists them: by folder (the top
// level first), then by name.
func comparePaths(a, b string) int {
	fa, na := splitRel(a)
	fb, nb := splitRel(b)
	if c := strings.Compare(fa, fb); c != 0 {
		return c
	}
	return strings.Compare(na, nb)
}

func splitRel(rel string) (folder, name string) {
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		return rel[:i], rel[i+1:]
	}
	return "", rel
}

// add records the hex hash the agent gave for rel. A hash that is not one
// is kept as the zero digest, which no file has: the file is sent.
func (t *sumTable) add(rel, sum string) {
	var d digest
	if len(sum) != 2*len(d) {
		d = digest{}
	} else if _, err := hex.Decode(d[:], []byte(sum)); err != nil {
		d = digest{}
	}
	if t.n > 0 && !t.disordered {
		last := t.blocks[len(t.blocks)-1]
		t.disordered = comparePaths(last[len(last)-1].rel, rel) >= 0
	}
	if len(t.blocks) == 0 || len(t.blocks[len(t.blocks)-1]) == sumBlock {
		t.blocks = append(t.blocks, make([]sumEntry, 0, sumBlock))
	}
	b := &t.blocks[len(t.blocks)-1]
	*b = append(*b, sumEntry{rel: rel, sum: d})
	t.n++
}

// order puts a table whose entries came out of order in order (one block);
// of two entries for one path the last stays, as in a JSON object decoded
// into a map.
func (t *sumTable) order() {
	if t == nil || !t.disordered {
		return
	}
	all := make([]sumEntry, 0, t.n)
	for _, b := range t.blocks {
		all = append(all, b...)
	}
	slices.SortStableFunc(all, func(a, b sumEntry) int { return comparePaths(a.rel, b.rel) })
	out := all[:0]
	for i, e := range all {
		if i+1 < len(all) && all[i+1].rel == e.rel {
			continue
		}
		out = append(out, e)
	}
	t.blocks, t.n, t.disordered = [][]sumEntry{out}, len(out), false
}

// get is the hash recorded for rel.
func (t *sumTable) get(rel string) (digest, bool) {
	if t == nil || t.n == 0 {
		return digest{}, false
	}
	t.order()
	// The last block whose first path is at most rel.
	k, _ := slices.BinarySearchFunc(t.blocks, rel, func(b []sumEntry, rel string) int {
		if comparePaths(b[0].rel, rel) <= 0 {
			return -1
		}
		return 1
	})
	if k == 0 {
		return digest{}, false
	}
	b := t.blocks[k-1]
	i, ok := slices.BinarySearchFunc(b, rel, func(e sumEntry, rel string) int { return comparePaths(e.rel, rel) })
	if !ok {
		return digest{}, false
	}
	return b[i].sum, true
}

// has reports whether rel is in the table with hash sum (a zero sum is
// never a match: it stands for a malformed hash).
func (t *sumTable) has(rel string, sum digest) bool {
	got, ok := t.get(rel)
	return ok && got == sum && sum != digest{}
}

// count is the number of paths in the table.
func (t *sumTable) count() int {
	if t == nil {
		return 0
	}
	t.order()
	return t.n
}

// each calls put for every entry, in order.
func (t *sumTable) each(put func(rel string, sum digest)) {
	if t == nil {
		return
	}
	t.order()
	for _, b := range t.blocks {
		for _, e := range b {
			put(e.rel, e.sum)
		}
	}
}
