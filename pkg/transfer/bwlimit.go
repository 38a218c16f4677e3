package transfer

import (
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"golang.org/x/time/rate"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// MinBandwidth is the lowest --bwlimit: below it a file of a few MiB takes
// longer to send than anyone waits.
const MinBandwidth = 1000

// bandwidthUnits maps a unit, lower-cased, to bytes per second. As the
// networking tools write them: K, M and G are powers of 1000, Ki, Mi and
// Gi powers of 1024; "bit" and "bps" units count bits.
var bandwidthUnits = map[string]float64{
	"": 1, "b": 1,
	"k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9,
	"ki": 1 << 10, "kib": 1 << 10, "mi": 1 << 20, "mib": 1 << 20, "gi": 1 << 30, "gib": 1 << 30,
	"bit": 1.0 / 8, "kbit": 1e3 / 8, "mbit": 1e6 / 8, "gbit": 1e9 / 8,
	"bps": 1.0 / 8, "kbps": 1e3 / 8, "mbps": 1e6 / 8, "gbps": 1e9 / 8,
}

const bandwidthExamples = "e.g. --bwlimit 20M (20 MB/s), --bwlimit 512Ki (512 KiB/s), --bwlimit 100Mbit (100 megabits/s)"

// ParseBandwidth reads a --bwlimit value, bytes or bits per second as
// written: "20M" is 20 000 000 bytes a second, "100Mbit" 12 500 000, "1.5Mi"
// 1 572 864; a trailing "/s" is allowed. A value that does not parse, or
// is below MinBandwidth, exits 2 with examples.
func ParseBandwidth(s string) (int64, error) {
	v := strings.TrimSpace(s)
	if len(v) > 2 && strings.EqualFold(v[len(v)-2:], "/s") {
		v = v[:len(v)-2]
	}
	i := 0
	for i < len(v) && (v[i] >= '0' && v[i] <= '9' || v[i] == '.') {
		i++
	}
	num, written := v[:i], strings.TrimSpace(v[i:])
	if len(written) == 2 && written[1] == 'b' && written[0] != 'b' && written[0] != 'B' {
		// "Mb" is megabits to some and megabytes to others.
		return 0, exitcode.Errorf(exitcode.BadFlags, "--bwlimit %q is ambiguous: write %sbit for bits or %sB for bytes a second", s, num+written[:1], num+strings.ToUpper(written[:1]))
	}
	mult, known := bandwidthUnits[strings.ToLower(written)]
	n, err := strconv.ParseFloat(num, 64)
	if num == "" || err != nil || !known {
		return 0, exitcode.Errorf(exitcode.BadFlags, "--bwlimit %q is not a rate: give a number and a unit, %s", s, bandwidthExamples)
	}
	bps := n * mult
	if bps < MinBandwidth {
		return 0, exitcode.Errorf(exitcode.BadFlags, "--bwlimit %q is below the lowest cap, %d bytes a second: give a higher rate (%s), or leave the flag out for no cap", s, MinBandwidth, bandwidthExamples)
	}
	if bps > math.MaxInt64/2 {
		return 0, exitcode.Errorf(exitcode.BadFlags, "--bwlimit %q is too large: leave the flag out for no cap", s)
	}
	return int64(bps), nil
}

// FormatBandwidth renders a cap in the units it is most often written in.
func FormatBandwidth(bps int64) string {
	switch {
	case bps >= 1e9:
		return fmt.Sprintf("%.3g GB/s", float64(bps)/1e9)
	case bps >= 1e6:
		return fmt.Sprintf("%.3g MB/s", float64(bps)/1e6)
	case bps >= 1e3:
		return fmt.Sprintf("%.3g kB/s", float64(bps)/1e3)
	}
	return fmt.Sprintf("%d B/s", bps)
}

// limitedWriter holds what it writes to a token bucket of bps bytes a
// second. It writes in pieces of at most the bucket's burst, so the writer
// below sees the data move (the stall clock) at least every tenth of a
// second, whatever the size of a write.
type limitedWriter struct {
	ctx context.Context
	w   io.Writer
	lim *rate.Limiter
}

// newLimitedWriter caps w at bps bytes a second; bps <= 0 returns w. The
// burst is a tenth of a second of the rate, between 4 KiB and 1 MiB: over a
// stream of T seconds at most burst + bps·T bytes pass.
func newLimitedWriter(ctx context.Context, w io.Writer, bps int64) io.Writer {
	if bps <= 0 {
		return w
	}
	burst := min(max(bps/10, 4<<10), 1<<20)
	return &limitedWriter{ctx: ctx, w: w, lim: rate.NewLimiter(rate.Limit(bps), int(burst))}
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := min(len(p), l.lim.Burst())
		if err := l.lim.WaitN(l.ctx, k); err != nil {
			return n, err
		}
		m, err := l.w.Write(p[:k])
		n += m
		if err != nil {
			return n, err
		}
		p = p[k:]
	}
	return n, nil
}
