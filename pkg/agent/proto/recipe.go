package proto

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"math/bits"

	"github.com/restic/chunker"
)

// A big file the staged copy already holds under the same name is sent as
// a recipe (version 5 of the stream): the agent's inventory lists the
// staged file cut into content-defined chunks (boundaries where a rolling
// hash of the content says, so an edit moves only the boundaries near it),
// each with its SHA-256; the plugin cuts its own file the same way and
// sends, in the file's data entry, ops that copy ranges of the staged file
// and carry the bytes of the other chunks. The agent builds the new file
// from both and checks its SHA-256 as for any other file.

// ChunkPol is the irreducible polynomial of the rolling hash; both sides
// must cut with the same one.
const ChunkPol = 0x3DA3358B4DC173

// PAXRecipe marks a data entry whose body is a recipe (RecipeCopy and
// RecipeData ops), not the file's bytes. With PAXOffset as well, the ops
// build the file from that offset on.
const PAXRecipe = "TRACEBLOC.recipe"

// Recipe ops: RecipeCopy, uvarint offset in the staged file, uvarint
// length; RecipeData, uvarint length, then that many bytes.
const (
	RecipeCopy = 'c'
	RecipeData = 'd'
)

// ChunkList is a staged file cut into chunks, as the inventory reports it.
type ChunkList struct {
	// Size is the staged file's size; the chunks cover it in order.
	Size int64 `json:"size"`
	// Bits is the average chunk size as a power of two; Min and Max bound a
	// chunk. The plugin cuts its file with the same three.
	Bits int   `json:"bits"`
	Min  int64 `json:"min"`
	Max  int64 `json:"max"`
	// Chunks are the chunks' lengths and hex SHA-256s.
	Chunks []ChunkRef `json:"chunks"`
}

// ChunkRef is one chunk of a ChunkList.
type ChunkRef struct {
	Len int64  `json:"n"`
	Sum string `json:"s"`
}

// ChunkParamsFor picks the chunk sizes for a file of size bytes: about
// 4096 chunks a file, on average between 64 KiB and 1 MiB each. Small
// chunks make an edit cost little on the wire; the bound keeps the list of
// a 4 GiB file near 4096 entries (300 KB in the inventory).
func ChunkParamsFor(size int64) (avgBits int, minLen, maxLen int64) {
	avgBits = 16
	if size > 0 {
		avgBits = min(max(bits.Len64(uint64(size>>12)), 16), 20)
	}
	avg := int64(1) << avgBits
	return avgBits, avg / 4, avg * 8
}

// ValidChunkParams reports whether a list's parameters are ones
// ChunkParamsFor could have picked: the plugin cuts no file with sizes the
// agent was not built to send.
func ValidChunkParams(avgBits int, minLen, maxLen int64) bool {
	if avgBits < 16 || avgBits > 20 {
		return false
	}
	avg := int64(1) << avgBits
	return minLen == avg/4 && maxLen == avg*8
}

// AppendCopyOp appends a RecipeCopy op to b.
func AppendCopyOp(b []byte, off, n int64) []byte {
	b = append(b, RecipeCopy)
	b = binary.AppendUvarint(b, uint64(off))
	return binary.AppendUvarint(b, uint64(n))
}

// AppendDataHeader appends the head of a RecipeData op of n bytes to b.
func AppendDataHeader(b []byte, n int64) []byte {
	return binary.AppendUvarint(append(b, RecipeData), uint64(n))
}

// ErrRecipe is a malformed recipe.
var ErrRecipe = errors.New("malformed recipe")

// ReadOp reads the head of the next op: for RecipeCopy its offset and
// length, for RecipeData its length (the bytes follow). io.EOF at the end
// of the recipe.
func ReadOp(r io.ByteReader) (op byte, off, n int64, err error) {
	op, err = r.ReadByte()
	if err != nil {
		return 0, 0, 0, err
	}
	switch op {
	case RecipeCopy:
		o, err := binary.ReadUvarint(r)
		if err != nil {
			return 0, 0, 0, ErrRecipe
		}
		off = int64(o)
		if off < 0 {
			return 0, 0, 0, ErrRecipe
		}
	case RecipeData:
	default:
		return 0, 0, 0, ErrRecipe
	}
	l, err := binary.ReadUvarint(r)
	if err != nil || int64(l) <= 0 {
		return 0, 0, 0, ErrRecipe
	}
	return op, off, int64(l), nil
}

// CutChunks cuts what r holds into content-defined chunks with the given
// parameters and calls put with each chunk's length and SHA-256, in order.
// buf holds the chunk being cut: at least maxLen bytes.
func CutChunks(r io.Reader, avgBits int, minLen, maxLen int64, buf []byte, put func(n int64, sum [sha256.Size]byte)) error {
	c := chunker.NewWithBoundaries(r, chunker.Pol(ChunkPol), uint(minLen), uint(maxLen))
	c.SetAverageBits(avgBits)
	for {
		ch, err := c.Next(buf)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		put(int64(ch.Length), sha256.Sum256(ch.Data))
	}
}
