package proto

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

func chunk(codec byte, size, n int, payload []byte) []byte {
	b := []byte{codec}
	b = binary.AppendUvarint(b, uint64(size))
	b = binary.AppendUvarint(b, uint64(n))
	return append(b, payload...)
}

func zstdOf(t testing.TB, data []byte) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(data, nil)
}

func readAll(stream []byte) ([]byte, error) {
	cr, err := NewChunkReader(bufio.NewReader(bytes.NewReader(stream)))
	if err != nil {
		return nil, err
	}
	defer cr.Close()
	return io.ReadAll(cr)
}

func TestChunkReaderReadsEveryCodec(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	text := bytes.Repeat([]byte("filename,label\nr000001.txt,pos\n"), 4000)
	noise := make([]byte, 70000)
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	full := make([]byte, MaxChunk)
	copy(full, text)
	var stream, want []byte
	stream = append(stream, chunk(ChunkRaw, len(noise), len(noise), noise)...)
	want = append(want, noise...)
	s2b := s2.Encode(nil, text)
	stream = append(stream, chunk(ChunkS2, len(text), len(s2b), s2b)...)
	want = append(want, text...)
	zb := zstdOf(t, full)
	stream = append(stream, chunk(ChunkZstd, len(full), len(zb), zb)...)
	want = append(want, full...)
	got, err := readAll(stream)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes, want the %d written", len(got), len(want))
	}
	if got, err := readAll(nil); err != nil || len(got) != 0 {
		t.Errorf("an empty stream reads as %d bytes, %v; want nothing, no error", len(got), err)
	}
}

// A damaged or hostile stream fails with ErrChunk or a cut-off error; none
// makes the reader decode more than a chunk's bound.
func TestChunkReaderRefusesBrokenChunks(t *testing.T) {
	text := bytes.Repeat([]byte("abc,def\n"), 1000)
	s2b := s2.Encode(nil, text)
	zb := zstdOf(t, text)
	bomb := zstdOf(t, make([]byte, 4*MaxChunk))
	tests := []struct {
		name   string
		stream []byte
		want   error
	}{
		{"empty chunk", chunk(ChunkRaw, 0, 0, nil), ErrChunk},
		{"data over the bound", chunk(ChunkZstd, MaxChunk+1, len(zb), zb), ErrChunk},
		{"payload over the bound", chunk(ChunkZstd, 100, MaxChunkPayload+1, nil), ErrChunk},
		{"raw of another size", chunk(ChunkRaw, 10, 9, make([]byte, 9)), ErrChunk},
		{"unknown codec", chunk(7, len(text), len(zb), zb), ErrChunk},
		{"s2 of another size", chunk(ChunkS2, len(text)-1, len(s2b), s2b), ErrChunk},
		{"s2 garbage", chunk(ChunkS2, 5, 3, []byte{5, 0xff, 0xff}), ErrChunk},
		{"zstd of another size", chunk(ChunkZstd, len(text)+1, len(zb), zb), ErrChunk},
		{"zstd garbage", chunk(ChunkZstd, 10, 4, []byte{1, 2, 3, 4}), ErrChunk},
		{"zstd that inflates past the bound", chunk(ChunkZstd, MaxChunk, len(bomb), bomb), ErrChunk},
		{"cut in the header", chunk(ChunkZstd, 1<<19, len(zb), zb)[:2], io.ErrUnexpectedEOF},
		{"cut in the payload", chunk(ChunkZstd, len(text), len(zb), zb)[:10], io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			good := chunk(ChunkS2, len(text), len(s2b), s2b)
			got, err := readAll(append(good, tt.stream...))
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if !bytes.Equal(got, text) {
				t.Errorf("read %d bytes before the error, want the good chunk's %d", len(got), len(text))
			}
		})
	}
}

func FuzzChunkReader(f *testing.F) {
	text := []byte("hello, hello, hello, hello")
	f.Add(chunk(ChunkS2, len(text), 0, nil))
	s2b := s2.Encode(nil, text)
	f.Add(chunk(ChunkS2, len(text), len(s2b), s2b))
	zb := zstdOf(f, text)
	f.Add(chunk(ChunkZstd, len(text), len(zb), zb))
	f.Add(chunk(ChunkRaw, 3, 3, []byte("abc")))
	f.Fuzz(func(t *testing.T, stream []byte) {
		cr, err := NewChunkReader(bufio.NewReader(bytes.NewReader(stream)))
		if err != nil {
			t.Fatal(err)
		}
		defer cr.Close()
		buf := make([]byte, 4096)
		total := 0
		for {
			n, err := cr.Read(buf)
			total += n
			if err != nil {
				break
			}
		}
		// Each chunk of data costs at least two bytes of stream.
		if total > (len(stream)/2+1)*MaxChunk {
			t.Fatalf("%d bytes of stream read as %d bytes of data", len(stream), total)
		}
	})
}

// A zstd chunk of several frames, the later ones without a content size,
// inflates past the bound frame by frame: the reader refuses it having
// decoded at most one zstd block (128 KiB) past MaxChunk, not a second
// chunk's worth.
func TestChunkReaderBoundsAFrameWithoutItsSize(t *testing.T) {
	first := zstdOf(t, make([]byte, MaxChunk))
	var rest bytes.Buffer
	enc, err := zstd.NewWriter(&rest, zstd.WithWindowSize(MaxChunk/2))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := enc.Write(make([]byte, 8*MaxChunk)); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	payload := append(append([]byte{}, first...), rest.Bytes()...)
	cr, err := NewChunkReader(bufio.NewReader(bytes.NewReader(chunk(ChunkZstd, MaxChunk, len(payload), payload))))
	if err != nil {
		t.Fatal(err)
	}
	defer cr.Close()
	if _, err := io.ReadAll(cr); !errors.Is(err, ErrChunk) {
		t.Fatalf("error %v, want %v", err, ErrChunk)
	}
	if held := cap(cr.data); held > MaxChunk+MaxChunk/2 {
		t.Errorf("the reader grew its data to %d bytes for a chunk bounded at %d", held, MaxChunk)
	}
}
