package proto

// A compressed stream (--compress auto or always) starts with ChunkMagic and
// is a run of frames (Chunk* in the identifiers; the content-defined chunks
// of a recipe are recipe.go's), each compressed on its own with the codec
// the plugin picked for it:
//
//	codec byte | uvarint length of the data | uvarint length of the payload | payload
//
// The plugin picks per chunk, from what it measures while sending: zstd
// where the link is the limit, s2 where compressing is. A stream that ends
// at a chunk boundary ends cleanly.
const (
	ChunkMagic = "TBC1"

	// ChunkRaw carries the data as it is (a chunk that would not shrink).
	ChunkRaw = 0
	// ChunkS2 is one s2 block.
	ChunkS2 = 1
	// ChunkZstd is one zstd frame.
	ChunkZstd = 2

	// MaxChunk bounds the data of one chunk.
	MaxChunk = 1 << 20
	// MaxChunkPayload bounds its payload: a chunk that does not shrink is
	// sent raw, so no payload outgrows the data by more than a codec's
	// framing.
	MaxChunkPayload = MaxChunk + 64<<10
)
