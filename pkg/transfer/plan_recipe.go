// The third part of planning: a big file the staged copy holds under the
// same name, changed, is sent as a recipe (proto/recipe.go): the chunks of
// the local file that the staged file holds too are copied there on the
// volume, only the others travel.

package transfer

import (
	"bufio"
	"encoding/hex"
	"io"
	"os"
	"strconv"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
	"github.com/tracebloc/kubectl-tracebloc/pkg/datafile"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// DefaultChunkMin is the size from which a changed file is sent as a
// recipe against the staged copy: below it, cutting both copies into
// chunks costs more than sending the file.
const DefaultChunkMin = 64 << 20

// chunkMinEnv lowers (or raises) DefaultChunkMin, for tests with small
// files. Not documented for users.
const chunkMinEnv = "TRACEBLOC_CHUNK_MIN"

// ChunkMin is the size from which files are sent as recipes.
func ChunkMin() int64 {
	if v, err := strconv.ParseInt(os.Getenv(chunkMinEnv), 10, 64); err == nil && v > 0 {
		return v
	}
	return DefaultChunkMin
}

// recipeOp is one op of a recipe: n bytes of the new file from at on,
// copied from the staged file at src, or sent.
type recipeOp struct {
	copy bool
	src  int64
	at   int64
	n    int64
}

// recipe builds one file from the staged copy's chunks and new bytes.
type recipe struct {
	ops []recipeOp
}

// makeRecipe cuts r (the local file) as list says and matches each chunk
// with a chunk of the staged file by SHA-256. It returns nil when the
// list is not one to use or no chunk matches.
func makeRecipe(r io.Reader, list *proto.ChunkList) (*recipe, error) {
	if list == nil || !proto.ValidChunkParams(list.Bits, list.Min, list.Max) {
		return nil, nil
	}
	at := map[[32]byte]int64{}
	var off int64
	for _, c := range list.Chunks {
		var sum [32]byte
		if n, err := hex.Decode(sum[:], []byte(c.Sum)); err != nil || n != len(sum) || c.Len <= 0 || c.Len > list.Max {
			return nil, nil
		}
		if _, dup := at[sum]; !dup {
			at[sum] = off
		}
		off += c.Len
	}
	if off != list.Size {
		return nil, nil
	}
	rc := &recipe{}
	var pos int64
	copied := false
	err := proto.CutChunks(r, list.Bits, list.Min, list.Max, make([]byte, list.Max), func(n int64, sum [32]byte) {
		src, ok := at[sum]
		rc.add(recipeOp{copy: ok, src: src, at: pos, n: n})
		copied = copied || ok
		pos += n
	})
	if err != nil || !copied {
		return nil, err
	}
	return rc, nil
}

// add appends op, joining it to the last op when they continue each other.
func (rc *recipe) add(op recipeOp) {
	if k := len(rc.ops) - 1; k >= 0 {
		last := &rc.ops[k]
		if last.copy == op.copy && last.at+last.n == op.at && (!op.copy || last.src+last.n == op.src) {
			last.n += op.n
			return
		}
	}
	rc.ops = append(rc.ops, op)
}

// from is the recipe of the file's bytes from off on (a file the last
// stream broke off in continues there).
func (rc *recipe) from(off int64) []recipeOp {
	var out []recipeOp
	for _, op := range rc.ops {
		if op.at+op.n <= off {
			continue
		}
		if op.at < off {
			cut := off - op.at
			op.at, op.n = off, op.n-cut
			if op.copy {
				op.src += cut
			}
		}
		out = append(out, op)
	}
	return out
}

// recipeSizes are the bytes ops copy and send, and the size of the entry
// that carries them.
func recipeSizes(ops []recipeOp) (copied, sent, entry int64) {
	var head []byte
	for _, op := range ops {
		if op.copy {
			copied += op.n
			head = proto.AppendCopyOp(head[:0], op.src, op.n)
		} else {
			sent += op.n
			head = proto.AppendDataHeader(head[:0], op.n)
			entry += op.n
		}
		entry += int64(len(head))
	}
	return copied, sent, entry
}

// planRecipes turns each file of the plan to send that the staged copy
// holds cut into chunks (lists, from the inventory) into a recipe, when
// any of its chunks is there. Run after resumeCut: a file the stream
// continues is built from its offset on.
func (p *Plan) planRecipes(root string, lists map[string]*proto.ChunkList, chunkMin int64) error {
	if len(lists) == 0 {
		return nil
	}
	var r *localRoot
	for _, f := range p.Send {
		list := lists[f.Rel]
		if list == nil || f.Size < chunkMin {
			continue
		}
		_, e, hashed := p.local.lookup(f.Rel, -1)
		if !hashed {
			continue
		}
		if r == nil {
			var err error
			if r, err = openLocalRoot(root); err != nil {
				return exitcode.Wrap(exitcode.Local, err)
			}
			defer r.close()
		}
		rc, err := recipeOf(r, f, &e.id, list)
		if err != nil {
			return err
		}
		if rc == nil {
			continue
		}
		off, _ := p.resumeOf(f)
		copied, _, _ := recipeSizes(rc.from(off))
		if copied == 0 {
			continue
		}
		if p.recipes == nil {
			p.recipes = map[string]*recipe{}
		}
		p.recipes[f.Rel] = rc
		p.SendBytes -= copied
		p.ChunkBytes += copied
	}
	return nil
}

// recipeOf cuts the local file f (the file hashed, want) against list.
func recipeOf(r *localRoot, f datafile.File, want *fileID, list *proto.ChunkList) (*recipe, error) {
	fh, err := r.open(f, want)
	if err != nil {
		return nil, err
	}
	defer func() { _ = fh.Close() }()
	rc, err := makeRecipe(bufio.NewReaderSize(fh, 1<<20), list)
	if err != nil {
		return nil, exitcode.Errorf(exitcode.Local, "reading %s: %w", f.Source(), err)
	}
	if !fh.unchanged() {
		return nil, changed(f)
	}
	return rc, nil
}

// maxKnownArgs bounds the hashes a stage command is told: a few big files
// are the case this is for, and the command line stays short.
const maxKnownArgs = 256

// knownArgs are the stage command's --known flags: the hash of each local
// file of at least chunkMin bytes that the push knows without reading the
// file (hashed already, or unchanged since the hash cache took it). The
// agent does not cut a staged file with the same name and hash into
// chunks: that file is linked, not sent, and cutting it would read it
// whole for nothing.
func knownArgs(root string, files []datafile.File, local *Local, chunkMin int64) []string {
	var r *localRoot
	var args []string
	for i, f := range files {
		if f.Size < chunkMin || len(args) >= 2*maxKnownArgs || proto.CheckRel(f.Rel) != nil {
			continue
		}
		at, e, ok := local.lookup(f.Rel, i)
		if !ok && at >= 0 && local.cache != nil {
			if r == nil {
				var err error
				if r, err = openLocalRoot(root); err != nil {
					return args
				}
				defer r.close()
			}
			if e, ok = local.fromCache(r, f); ok {
				local.recs[at] = e
				local.cached++
			}
		}
		if ok {
			args = append(args, "--known", e.sum.hex()+f.Rel)
		}
	}
	return args
}
