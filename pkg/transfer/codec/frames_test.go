package codec

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
)

// lockedBuffer is a writer the test reads while the sender writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	err error
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return 0, b.err
	}
	return b.buf.Write(p)
}

func (b *lockedBuffer) bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]byte(nil), b.buf.Bytes()...)
}

func decodeChunks(t *testing.T, stream []byte) []byte {
	t.Helper()
	if !bytes.HasPrefix(stream, []byte(proto.ChunkMagic)) {
		t.Fatalf("the stream does not start with %q", proto.ChunkMagic)
	}
	cr, err := proto.NewChunkReader(bufio.NewReader(bytes.NewReader(stream[len(proto.ChunkMagic):])))
	if err != nil {
		t.Fatal(err)
	}
	defer cr.Close()
	got, err := io.ReadAll(cr)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// Text, then noise: what goes in comes out, in order, in writes of every
// size; noise goes raw, text compressed.
func TestChunkWriterRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var data []byte
	for len(data) < 3*chunkSize {
		data = append(data, benchLine(rng)...)
	}
	noise := make([]byte, 2*chunkSize+123)
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	data = append(data, noise...)
	out := &lockedBuffer{}
	w, err := NewWriter(out, 1)
	if err != nil {
		t.Fatal(err)
	}
	for rest := data; len(rest) > 0; {
		n := min(len(rest), 1+rng.IntN(100<<10))
		if _, err := w.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := decodeChunks(t, out.bytes()); !bytes.Equal(got, data) {
		t.Fatalf("decoded %d bytes that differ from the %d written", len(got), len(data))
	}
	codecs := w.Codecs()
	if codecs["none"] < 2*chunkSize {
		t.Errorf("noise sent raw: %d bytes, want at least %d (codecs %v)", codecs["none"], 2*chunkSize, codecs)
	}
	var total int64
	for _, n := range codecs {
		total += n
	}
	if total != int64(len(data)) {
		t.Errorf("codecs account for %d bytes of %d", total, len(data))
	}
}

func benchLine(rng *rand.Rand) string {
	return []string{"55569,17.0591,5,-0.028,Oslo,no\n", "30781,16.6464,29,0.109,\"Rome, IT\",yes\n", "3819,85.2134,48,-0.323,Berlin,yes\n"}[rng.IntN(3)]
}

// Flush returns once everything written before it is out: the commit line
// that follows the verification depends on it.
func TestChunkWriterFlushPutsEverythingOut(t *testing.T) {
	out := &lockedBuffer{}
	w, err := NewWriter(out, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	first := bytes.Repeat([]byte("a,b,c\n"), 100000)
	for _, part := range [][]byte{first, []byte("commit\n")} {
		if _, err := w.Write(part); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if got := decodeChunks(t, out.bytes()); !bytes.HasSuffix(got, part) {
			t.Fatalf("after Flush the stream ends with %q", got[max(0, len(got)-10):])
		}
	}
}

// A link that breaks fails the writes that follow and Close, and ends the
// goroutines.
func TestChunkWriterFailsWhenTheLinkBreaks(t *testing.T) {
	out := &lockedBuffer{}
	w, err := NewWriter(out, 1)
	if err != nil {
		t.Fatal(err)
	}
	broken := errors.New("the stage agent stopped reading")
	out.mu.Lock()
	out.err = broken
	out.mu.Unlock()
	var werr error
	chunk := bytes.Repeat([]byte("x,y\n"), chunkSize/4)
	for i := 0; i < 20 && werr == nil; i++ {
		_, werr = w.Write(chunk)
	}
	if !errors.Is(werr, broken) {
		t.Errorf("writes after the break: %v, want %v", werr, broken)
	}
	if err := w.Close(); !errors.Is(err, broken) {
		t.Errorf("Close: %v, want %v", err, broken)
	}
}

// Many files compress on one worker: their records take the memory, and
// reading the files is what limits them.
func TestCompressWorkers(t *testing.T) {
	if got := compressWorkers(ManyFiles + 1); got != 1 {
		t.Errorf("%d files: %d workers, want 1", ManyFiles+1, got)
	}
	if got, want := compressWorkers(1), min(runtime.GOMAXPROCS(0), 4); got != want {
		t.Errorf("one file: %d workers, want %d", got, want)
	}
}
