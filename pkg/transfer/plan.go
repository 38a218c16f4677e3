package transfer

import (
	"bufio"
	"encoding/hex"
	"io"
	"slices"
	"sort"
	"strconv"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
	"github.com/tracebloc/kubectl-tracebloc/pkg/datafile"
)

// Inventory is what the volume already holds for a table.
type Inventory struct {
	// Staged is the current staged copy.
	Staged *sumTable
	// Partial is what an interrupted push left behind.
	Partial *sumTable
}

// Plan says what one apply round sends, reuses and removes.
type Plan struct {
	Send      []datafile.File
	SendBytes int64
	// Reuse are files hard-linked from the staged copy instead of sent.
	Reuse []string
	// Resumed are files already in the partial copy with the right content.
	Resumed int
	// ResumeBytes are the bytes of a file cut mid-stream before that the
	// volume holds already: the stream sends the rest (SendBytes counts
	// only that).
	ResumeBytes int64
	// resume is that file's offset and hash state (nil: none).
	resume *resumeAt
	// ChunkBytes are bytes of changed big files that the staged copy holds
	// in chunks of the same content: copied there, not sent (SendBytes does
	// not count them). recipes are those files' recipes.
	ChunkBytes int64
	recipes    map[string]*recipe
	// Remove are partial-copy files that are not part of the new copy (the
	// agent drops them itself; counted for the report).
	Remove []string
	// Keep is the seal of the staged copy's manifest when the plan asks
	// the agent to keep that copy in place: it holds exactly the plan.
	Keep string
	// sealed, with Keep, is the count of files of a plan that keeps the
	// copy the agent confirmed sealed (Unchanged) without naming them.
	sealed int
	// partialFiles counts the files of the partial copy.
	partialFiles int
	// files are every file of the new copy; local has their SHA-256.
	files []datafile.File
	local *Local
}

// MakePlan decides, file by file, whether the volume already has the right
// content (in the partial copy, or in the staged copy to link from) or the
// file must be sent.
func MakePlan(files []datafile.File, local *Local, inv Inventory) Plan {
	p := Plan{files: files, local: local, partialFiles: inv.Partial.count()}
	var want map[string]struct{}
	if p.partialFiles > 0 {
		want = make(map[string]struct{}, len(files))
	}
	// While every file so far is sent, Send is a prefix of files: a first
	// push holds no second list of them.
	prefix, sent := true, 0
	for i, f := range files {
		if want != nil {
			want[f.Rel] = struct{}{}
		}
		// A file not hashed yet has nothing on the volume to compare with:
		// it is sent, and hashed as it goes.
		_, e, hashed := local.lookup(f.Rel, i)
		resumed, reused := hashed && inv.Partial.has(f.Rel, e.sum), hashed && inv.Staged.has(f.Rel, e.sum)
		if (resumed || reused) && prefix {
			prefix = false
			p.Send = slices.Clone(files[:i])
		}
		switch {
		case resumed:
			p.Resumed++
		case reused:
			p.Reuse = append(p.Reuse, f.Rel)
		default:
			if !prefix {
				p.Send = append(p.Send, f)
			}
			sent++
			p.SendBytes += f.Size
		}
	}
	if prefix {
		p.Send = files[:sent]
	}
	// Wanted files with stale content are overwritten by the stream or the
	// link; only files that are not part of the new copy are removed.
	inv.Partial.each(func(rel string, _ digest) {
		if _, ok := want[rel]; !ok {
			p.Remove = append(p.Remove, rel)
		}
	})
	sort.Strings(p.Remove)
	return p
}

// ReusedFiles counts the files the new copy takes from the staged one:
// linked, or every file of a copy kept in place.
func (p Plan) ReusedFiles() int {
	if p.sealed > 0 {
		return p.sealed
	}
	return len(p.Reuse)
}

// keepable reports whether the plan is the staged copy exactly: every file
// reused from it and nothing else there (staged counts its files).
func (p Plan) keepable(staged int) bool {
	return len(p.Send) == 0 && p.Resumed == 0 && p.resume == nil && len(p.Remove) == 0 &&
		len(p.Reuse) == len(p.files) && staged == len(p.files) && len(p.files) > 0
}

// writeWire writes the plan as the JSON of the stream's first entry, one
// file at a time, so that no copy of the whole plan is held (100 000 files
// make 9 MB of JSON). It returns the bytes written; into io.Discard, that
// sizes the entry. The agent reads it as a proto.Plan.
func (p Plan) writeWire(w io.Writer) (int64, error) {
	bw := bufio.NewWriterSize(w, 32<<10)
	var n int64
	put := func(b []byte) {
		k, _ := bw.Write(b)
		n += int64(k)
	}
	var scratch []byte
	putString := func(s string) {
		scratch = proto.AppendJSONString(scratch[:0], s)
		put(scratch)
	}
	if p.sealed > 0 {
		// The copy the agent confirmed: no file named.
		put([]byte(`{"expected":{},"keep":`))
		putString(p.Keep)
		put([]byte(`,"sealed":` + strconv.Itoa(p.sealed) + `}`))
		return n, bw.Flush()
	}
	put([]byte(`{"expected":{`))
	first := true
	var hexSum [2 * len(digest{})]byte
	for i, f := range p.files {
		if !first {
			put([]byte{','})
		}
		first = false
		putString(f.Rel)
		put([]byte{':', '"'})
		// A hash not taken yet is left open; it follows the files.
		if _, e, ok := p.local.lookup(f.Rel, i); ok {
			hex.Encode(hexSum[:], e.sum[:])
			put(hexSum[:])
		}
		put([]byte{'"'})
	}
	put([]byte{'}'})
	if len(p.Reuse) > 0 {
		put([]byte(`,"reuse":[`))
		for i, rel := range p.Reuse {
			if i > 0 {
				put([]byte{','})
			}
			putString(rel)
		}
		put([]byte{']'})
	}
	if p.Keep != "" {
		put([]byte(`,"keep":`))
		putString(p.Keep)
	}
	put([]byte{'}'})
	return n, bw.Flush()
}

// replan builds the plan of a second round from the hashes the Pod reported
// after a mismatch: the Pod has removed every wrong file, so whatever is not
// listed with the right hash is sent again.
func replan(files []datafile.File, local *Local, actual *sumTable) Plan {
	p := Plan{files: files, local: local, Send: []datafile.File{}}
	for i, f := range files {
		if _, e, ok := local.lookup(f.Rel, i); ok && actual.has(f.Rel, e.sum) {
			p.Resumed++
			continue
		}
		p.Send = append(p.Send, f)
		p.SendBytes += f.Size
	}
	return p
}
