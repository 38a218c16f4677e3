// Package codec compresses the push stream frame by frame (a frame is
// called a chunk in the identifiers: a piece of the stream, not the
// content-defined chunks of a recipe, pkg/agent/proto/recipe.go), picking
// each frame's codec by what the link and the cores allow. The frame format
// is the stage agent's (pkg/agent/proto: frames.go, framereader.go); this
// package writes it.
package codec

import (
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
)

// chunkSize is the data of one chunk. Half the agent's bound: the few
// chunks in flight stay small, and zstd's ratio on the bench CSV is the
// same as with one stream (0.384 against 0.385).
const chunkSize = 512 << 10

// The codecs the adapter picks from, in the order they are first measured.
const (
	codecZstd = iota
	codecS2
	codecZstdBetter
	nCodecs
)

var codecNames = [nCodecs]string{"zstd", "s2", "zstd-better"}

// Writer compresses the stream chunk by chunk on worker goroutines
// and writes the chunks out, in order, on another, so that reading the
// files, compressing and sending overlap. The adapter picks each chunk's
// codec.
type Writer struct {
	out     io.Writer
	cur     []byte
	filled  time.Time
	seq     uint64
	jobs    chan chunkJob
	results chan chunkJob
	free    chan []byte
	frames  chan []byte
	done    chan struct{}
	// zinit makes each zstd encoder on its first chunk: the stronger level
	// is often never used, and its tables are large.
	zinit [nCodecs]func() *zstd.Encoder
	ad    *adapter
	close sync.Once

	mu  sync.Mutex
	err error
	// data counts the bytes of data each codec carried; raw what went as
	// it was.
	data [nCodecs]int64
	raw  int64
	made [nCodecs]bool
}

// used reports whether codec c's encoder was made.
func (w *Writer) used(c int) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.made[c]
}

type chunkJob struct {
	seq  uint64
	data []byte
	// frame is the buffer the chunk is framed into, taken in order with
	// the job: the chunk the sender waits for never waits for a buffer.
	frame []byte
	// flush, set alone, is a barrier the sender answers once everything
	// before it is written.
	flush chan error
}

// compressWorkers: a core each, up to 4. A slow link leaves the cores idle
// otherwise; the stronger zstd level keeps up with 100 Mbit/s only on two.
func compressWorkers(files int) int {
	if files > ManyFiles {
		return 1
	}
	return min(runtime.GOMAXPROCS(0), 4)
}

// ManyFiles is the file count above which a push compresses on one worker. Its
// records take the memory (100 000 files: about 50 MiB), and reading the
// files, not compressing, is what limits it.
const ManyFiles = 10000

// NewWriter writes the chunks of a push of files files to out, compressed.
func NewWriter(out io.Writer, files int) (*Writer, error) {
	workers := compressWorkers(files)
	// Buffers: data being filled, queued and compressed; frames queued,
	// compressed, waiting their turn and being written.
	data, frames := workers+2, workers+3
	w := &Writer{out: out, ad: &adapter{workers: float64(workers)}, jobs: make(chan chunkJob, 1), results: make(chan chunkJob, workers),
		free: make(chan []byte, data), frames: make(chan []byte, frames), done: make(chan struct{})}
	for c, level := range map[int]zstd.EncoderLevel{codecZstd: zstd.SpeedFastest, codecZstdBetter: zstd.SpeedBetterCompression} {
		w.zinit[c] = sync.OnceValue(func() *zstd.Encoder {
			// Only a bad option fails, and these are fixed.
			enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(level), zstd.WithEncoderConcurrency(workers), zstd.WithWindowSize(chunkSize))
			return enc
		})
	}
	for range data {
		w.free <- make([]byte, 0, chunkSize)
	}
	for range frames {
		w.frames <- make([]byte, 0, frameHeader+s2.MaxEncodedLen(chunkSize))
	}
	if _, err := io.WriteString(out, proto.ChunkMagic); err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.compress()
		}()
	}
	go func() {
		wg.Wait()
		close(w.results)
	}()
	go w.send()
	return w, nil
}

// errStopped fails what is still queued when the writer is stopped.
var errStopped = errors.New("the stream was stopped before it was out")

func (w *Writer) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *Writer) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = err
	}
}

// Write fills chunks and hands each full one to the compressors.
func (w *Writer) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if err := w.failed(); err != nil {
			return n, err
		}
		if w.cur == nil {
			w.cur = <-w.free
			w.filled = time.Now()
		}
		k := min(len(p), chunkSize-len(w.cur))
		w.cur = append(w.cur, p[:k]...)
		p, n = p[k:], n+k
		if len(w.cur) == chunkSize {
			w.submit()
		}
	}
	return n, nil
}

func (w *Writer) submit() {
	// How fast the files arrive: the time to fill this chunk, without the
	// waits for a free buffer.
	w.ad.produced(len(w.cur), time.Since(w.filled))
	w.jobs <- chunkJob{seq: w.next(), data: w.cur, frame: <-w.frames}
	w.cur = nil
}

func (w *Writer) next() uint64 {
	w.seq++
	return w.seq - 1
}

// Flush sends what was written so far and waits until it is out.
func (w *Writer) Flush() error {
	if len(w.cur) > 0 {
		w.submit()
	}
	barrier := make(chan error, 1)
	w.jobs <- chunkJob{seq: w.next(), flush: barrier}
	return <-barrier
}

// Close flushes and ends the goroutines. It is also how a push that gives
// up ends them: then nothing more is written.
func (w *Writer) Close() error {
	err := w.Flush()
	w.Stop()
	return err
}

// Stop ends the goroutines without flushing; it may be called more than
// once, and after Close.
func (w *Writer) Stop() {
	w.close.Do(func() {
		// The chunks still queued are dropped, not written: after Close
		// there are none, and a push that gives up sends nothing more.
		w.fail(errStopped)
		close(w.jobs)
		<-w.done
		for c, init := range w.zinit {
			if init != nil && w.used(c) {
				_ = init().Close()
			}
		}
	})
}

func (w *Writer) compress() {
	var scratch [2][]byte
	for i := range scratch {
		scratch[i] = make([]byte, 0, s2.MaxEncodedLen(chunkSize))
	}
	for j := range w.jobs {
		if j.flush != nil {
			w.results <- j
			continue
		}
		// A probe compresses the chunk with a second codec too, to keep
		// that codec's figures current; the smaller payload goes.
		c, probe := w.ad.choose()
		payload := w.encode(c, j.data, &scratch[0])
		if probe >= 0 {
			if alt := w.encode(probe, j.data, &scratch[1]); len(alt) < len(payload) {
				c, payload = probe, alt
				scratch[0], scratch[1] = scratch[1], scratch[0]
			}
		}
		codec := byte(proto.ChunkS2)
		if c != codecS2 {
			codec = proto.ChunkZstd
		}
		w.mu.Lock()
		if len(payload) >= len(j.data) {
			codec, payload = proto.ChunkRaw, j.data
			w.raw += int64(len(j.data))
		} else {
			w.data[c] += int64(len(j.data))
		}
		w.mu.Unlock()
		j.frame = append(j.frame, codec)
		j.frame = binary.AppendUvarint(j.frame, uint64(len(j.data)))
		j.frame = binary.AppendUvarint(j.frame, uint64(len(payload)))
		j.frame = append(j.frame, payload...)
		w.free <- j.data[:0]
		w.results <- chunkJob{seq: j.seq, frame: j.frame}
	}
}

// encode compresses data with codec c into *scratch (grown if need be) and
// reports the time and size to the adapter.
func (w *Writer) encode(c int, data []byte, scratch *[]byte) []byte {
	start := time.Now()
	var payload []byte
	if c == codecS2 {
		payload = s2.Encode((*scratch)[:cap(*scratch)], data)
	} else {
		w.mu.Lock()
		w.made[c] = true
		w.mu.Unlock()
		payload = w.zinit[c]().EncodeAll(data, (*scratch)[:0])
	}
	w.ad.compressed(c, len(data), len(payload), time.Since(start))
	if cap(payload) > cap(*scratch) {
		*scratch = payload[:0]
	}
	return payload
}

// frameHeader bounds a chunk's header: the codec and two uvarints.
const frameHeader = 1 + 2*binary.MaxVarintLen64

// send writes the chunks in the order they were written, whichever worker
// finished first.
func (w *Writer) send() {
	defer close(w.done)
	waiting := map[uint64]chunkJob{}
	next := uint64(0)
	for r := range w.results {
		waiting[r.seq] = r
		for {
			j, ok := waiting[next]
			if !ok {
				break
			}
			delete(waiting, next)
			next++
			if j.flush != nil {
				j.flush <- w.failed()
				continue
			}
			if w.failed() == nil {
				start := time.Now()
				if _, err := w.out.Write(j.frame); err != nil {
					w.fail(err)
				} else {
					w.ad.drained(len(j.frame), time.Since(start))
				}
			}
			w.frames <- j.frame[:0]
		}
	}
}

// Codecs reports the share of the data each codec carried.
func (w *Writer) Codecs() map[string]int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := map[string]int64{}
	for c, n := range w.data {
		if n > 0 {
			m[codecNames[c]] = n
		}
	}
	if w.raw > 0 {
		m["none"] = w.raw
	}
	return m
}
