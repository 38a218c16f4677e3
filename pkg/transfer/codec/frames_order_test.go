package codec

import (
	"bytes"
	"math/rand/v2"
	"runtime"

	"testing"
	"time"
)

// slowBuffer is a link that takes a while now and then, so that the
// workers finish out of order and the adapter sees the link as the
// bottleneck at times.
type slowBuffer struct {
	lockedBuffer
	writes int
}

func (b *slowBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	b.writes++
	slow := b.writes%3 == 0
	b.mu.Unlock()
	if slow {
		time.Sleep(2 * time.Millisecond)
	}
	return b.lockedBuffer.Write(p)
}

// Many writes of random sizes, text and noise mixed, with Flush calls in
// between, through four workers: what is decoded is what was written, in
// order, and each Flush leaves everything before it on the wire.
func TestChunkWriterManyWorkersKeepOrder(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 4 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	}
	rng := rand.New(rand.NewPCG(7, 8))
	out := &slowBuffer{}
	w, err := NewWriter(out, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if got := compressWorkers(1); got < 4 {
		t.Fatalf("%d workers, want at least 4", got)
	}
	var want []byte
	for range 400 {
		var part []byte
		switch rng.IntN(3) {
		case 0: // text
			for len(part) < rng.IntN(300<<10) {
				part = append(part, benchLine(rng)...)
			}
		case 1: // noise
			part = make([]byte, rng.IntN(200<<10))
			for i := range part {
				part[i] = byte(rng.Uint32())
			}
		default: // a few bytes
			part = []byte(benchLine(rng))[:1+rng.IntN(10)]
		}
		if _, err := w.Write(part); err != nil {
			t.Fatal(err)
		}
		want = append(want, part...)
		if rng.IntN(25) == 0 {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if got := decodeChunks(t, out.bytes()); !bytes.Equal(got, want) {
				t.Fatalf("after Flush: decoded %d bytes that differ from the %d written", len(got), len(want))
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := decodeChunks(t, out.bytes()); !bytes.Equal(got, want) {
		t.Fatalf("decoded %d bytes that differ from the %d written", len(got), len(want))
	}
	var total int64
	for _, n := range w.Codecs() {
		total += n
	}
	if total != int64(len(want)) {
		t.Errorf("codecs account for %d bytes of %d (%v)", total, len(want), w.Codecs())
	}
}

// gatedBuffer holds its first write until the gate opens.
type gatedBuffer struct {
	lockedBuffer
	gate   chan struct{}
	frames int
}

func (b *gatedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	b.frames++
	first := b.frames == 2 // the magic, then the first chunk
	b.mu.Unlock()
	if first {
		<-b.gate
	}
	return b.lockedBuffer.Write(p)
}

func (b *gatedBuffer) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.frames
}

// A push that gives up stops the writer: the chunks still queued are not
// written, and stop does not wait for the link to take them.
func TestChunkWriterStopWritesNothingMore(t *testing.T) {
	out := &gatedBuffer{gate: make(chan struct{})}
	w, err := NewWriter(out, 1)
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte("x,y\n"), chunkSize/4)
	for range 3 {
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	// The first chunk is in the link's hands.
	for deadline := time.Now().Add(5 * time.Second); out.count() < 2; {
		if time.Now().After(deadline) {
			t.Fatal("the first chunk never reached the link")
		}
		time.Sleep(time.Millisecond)
	}
	stopped := make(chan struct{})
	go func() {
		w.Stop()
		close(stopped)
	}()
	for deadline := time.Now().Add(2 * time.Second); w.failed() == nil && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	close(out.gate)
	<-stopped
	if got := out.count(); got != 2 {
		t.Errorf("%d writes reached the link, want 2 (the magic and the chunk it was taking when the push gave up)", got)
	}
}
