package proto

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// ChunkReader reads the chunks of a compressed stream (ChunkMagic already
// taken) as one stream of data. Every length is checked against
// its bound before anything is read or allocated: a broken or hostile
// stream fails, it never makes the agent hold more than two chunks.
type ChunkReader struct {
	in  *bufio.Reader
	dec *zstd.Decoder
	// data holds the current chunk's data, unread from off on.
	data    []byte
	off     int
	payload []byte
	err     error
}

// NewChunkReader reads chunks from in.
func NewChunkReader(in *bufio.Reader) (*ChunkReader, error) {
	// The cap limit bounds the data of every frame of a chunk together to
	// the data buffer: the size limit alone is checked frame by frame, and
	// frames without a content size could grow it to twice MaxChunk.
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(MaxChunk),
		zstd.WithDecoderMaxWindow(MaxChunk), zstd.WithDecodeAllCapLimit(true))
	if err != nil {
		return nil, err
	}
	return &ChunkReader{in: in, dec: dec, data: make([]byte, 0, MaxChunk), payload: make([]byte, MaxChunkPayload)}, nil
}

// Close frees the decoder.
func (c *ChunkReader) Close() { c.dec.Close() }

func (c *ChunkReader) Read(p []byte) (int, error) {
	for c.off == len(c.data) {
		if c.err != nil {
			return 0, c.err
		}
		if c.err = c.next(); c.err != nil {
			// Nothing of a chunk that failed is handed on.
			c.data = c.data[:0]
		}
	}
	n := copy(p, c.data[c.off:])
	c.off += n
	return n, nil
}

// ErrChunk marks a chunk that cannot be read back: damaged on the way.
var ErrChunk = errors.New("a damaged chunk")

// next reads and decodes one chunk; io.EOF only at a chunk boundary.
func (c *ChunkReader) next() error {
	c.data, c.off = c.data[:0], 0
	codec, err := c.in.ReadByte()
	if err != nil {
		return err
	}
	size, err := binary.ReadUvarint(c.in)
	if err != nil {
		return noEOF(err)
	}
	n, err := binary.ReadUvarint(c.in)
	if err != nil {
		return noEOF(err)
	}
	if size == 0 || size > MaxChunk || n == 0 || n > MaxChunkPayload || (codec == ChunkRaw && n != size) {
		return fmt.Errorf("%w: codec %d, %d bytes of data in %d", ErrChunk, codec, size, n)
	}
	payload := c.payload[:n]
	if _, err := io.ReadFull(c.in, payload); err != nil {
		return noEOF(err)
	}
	switch codec {
	case ChunkRaw:
		c.data = append(c.data, payload...)
	case ChunkS2:
		if l, err := s2.DecodedLen(payload); err != nil || uint64(l) != size {
			return fmt.Errorf("%w: an s2 block of %d bytes where %d were announced", ErrChunk, l, size)
		}
		if c.data, err = s2.Decode(c.data[:size], payload); err != nil {
			return fmt.Errorf("%w: %v", ErrChunk, err)
		}
	case ChunkZstd:
		if c.data, err = c.dec.DecodeAll(payload, c.data); err != nil {
			return fmt.Errorf("%w: %v", ErrChunk, err)
		}
	default:
		return fmt.Errorf("%w: unknown codec %d", ErrChunk, codec)
	}
	if uint64(len(c.data)) != size {
		return fmt.Errorf("%w: %d bytes of data where %d were announced", ErrChunk, len(c.data), size)
	}
	return nil
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
