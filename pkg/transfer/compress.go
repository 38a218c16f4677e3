package transfer

import (
	"io"

	"github.com/klauspost/compress/zstd"

	"github.com/tracebloc/kubectl-tracebloc/pkg/datafile"
)

// Compression modes of --compress.
const (
	CompressAuto   = "auto"
	CompressAlways = "always"
	CompressNever  = "never"
)

// ValidCompress reports whether mode is a --compress value.
func ValidCompress(mode string) bool {
	return mode == CompressAuto || mode == CompressAlways || mode == CompressNever
}

// Sampling: up to sampleFiles files spread over the plan, up to sampleBytes
// of each, framed like the stream (a 512-byte header each).
const (
	sampleFiles = 32
	sampleBytes = 64 << 10
	// worthIt: compress when the sample shrinks to at most this share.
	worthIt = 0.85
)

// compressible decides, from a sample of the files to send, whether
// compressing the stream saves enough wire to be worth the CPU: images and
// archives do not shrink; text, tables and many small files do (tar's
// header of 512 bytes is mostly zeros).
func compressible(root *localRoot, files []datafile.File) (bool, float64) {
	if len(files) == 0 {
		return false, 1
	}
	// The sample streams through the compressor into a counter: no buffer
	// of the sample or of its compressed form is held.
	out := &countingWriter{w: io.Discard}
	enc, err := zstd.NewWriter(out, encoderOptions()...)
	if err != nil {
		return false, 1
	}
	in := &countingWriter{w: enc}
	header := make([]byte, 512)
	step := max(1, len(files)/sampleFiles)
	for i := 0; i < len(files); i += step {
		f := files[i]
		clear(header)
		copy(header, f.Rel)
		_, _ = in.Write(header)
		fh, err := root.open(f, nil)
		if err != nil {
			continue
		}
		n, _ := io.Copy(in, io.LimitReader(fh, sampleBytes))
		_ = fh.Close()
		if pad := n % 512; pad != 0 {
			_, _ = in.Write(header[:512-pad])
		}
	}
	if err := enc.Close(); err != nil || in.n == 0 {
		return false, 1
	}
	ratio := float64(out.n) / float64(in.n)
	return ratio <= worthIt, ratio
}

// encoderOptions (of the sample's compressor): the fastest level, one
// goroutine and a 1 MiB window.
// Measured on the bench CSV (500 MB), the lower-memory tables cost half
// the speed (80-90 against 150 MB/s a core) for the same ratio (0.385),
// and a 4 MiB window gained nothing over 1 MiB.
func encoderOptions() []zstd.EOption {
	return []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1),
		zstd.WithWindowSize(1 << 20)}
}

// countingWriter counts what goes onto the wire.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
