package transfer

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/klauspost/compress/zstd"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset"
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
	sampleFiles = 48
	sampleBytes = 128 << 10
	// worthIt: compress when the sample shrinks to at most this share.
	worthIt = 0.85
)

// compressible decides, from a sample of the files to send, whether
// compressing the stream saves enough wire to be worth the CPU: images and
// archives do not shrink; text, tables and many small files do (tar's
// header of 512 bytes is mostly zeros).
func compressible(root *os.Root, files []dataset.File) (bool, float64) {
	if len(files) == 0 {
		return false, 1
	}
	var raw bytes.Buffer
	step := max(1, len(files)/sampleFiles)
	for i := 0; i < len(files); i += step {
		f := files[i]
		header := make([]byte, 512)
		copy(header, f.Rel)
		raw.Write(header)
		fh, err := root.Open(filepath.FromSlash(f.Source()))
		if err != nil {
			continue
		}
		n, _ := io.Copy(&raw, io.LimitReader(fh, sampleBytes))
		_ = fh.Close()
		if pad := n % 512; pad != 0 {
			raw.Write(make([]byte, 512-pad))
		}
	}
	if raw.Len() == 0 {
		return false, 1
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return false, 1
	}
	out := enc.EncodeAll(raw.Bytes(), nil)
	ratio := float64(len(out)) / float64(raw.Len())
	return ratio <= worthIt, ratio
}

// newCompressor wraps w in the stream's compression.
func newCompressor(w io.Writer) (*zstd.Encoder, error) {
	enc, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, fmt.Errorf("starting the compressor: %w", err)
	}
	return enc, nil
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
