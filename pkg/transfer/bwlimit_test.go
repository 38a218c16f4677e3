package transfer

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

func TestParseBandwidth(t *testing.T) {
	good := []struct {
		in   string
		want int64
	}{
		{"20M", 20_000_000},
		{"20MB", 20_000_000},
		{"20MB/s", 20_000_000},
		{"2M", 2_000_000},
		{"1.5M", 1_500_000},
		{"100Mbit", 12_500_000},
		{"100mbit/s", 12_500_000},
		{"100Mbps", 12_500_000},
		{"8kbit", 1000},
		{"512Ki", 512 << 10},
		{"512KiB", 512 << 10},
		{"1.5Mi", 1_572_864},
		{"1G", 1_000_000_000},
		{"1Gbit", 125_000_000},
		{"250000", 250_000},
		{"250000B", 250_000},
		{" 3K ", 3000},
	}
	for _, c := range good {
		got, err := ParseBandwidth(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseBandwidth(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	bad := []struct{ in, says string }{
		{"", "is not a rate"},
		{"fast", "is not a rate"},
		{"M", "is not a rate"},
		{"20X", "is not a rate"},
		{"20 MB per second", "is not a rate"},
		{"-5M", "is not a rate"},
		{"1.2.3M", "is not a rate"},
		{"100Mb", "is ambiguous: write 100Mbit for bits or 100MB for bytes"},
		{"20mb", "is ambiguous"},
		{"0", "below the lowest cap"},
		{"999", "below the lowest cap"},
		{"7kbit", "below the lowest cap"},
		{"1e30G", "is not a rate"},
	}
	for _, c := range bad {
		_, err := ParseBandwidth(c.in)
		if exitcode.Of(err) != exitcode.BadFlags || !strings.Contains(err.Error(), c.says) {
			t.Errorf("ParseBandwidth(%q): %v (exit %d), want exit 2 saying %q", c.in, err, exitcode.Of(err), c.says)
		}
		if err != nil && c.says == "is not a rate" && !strings.Contains(err.Error(), "--bwlimit 20M") {
			t.Errorf("ParseBandwidth(%q): %v: no example", c.in, err)
		}
	}
}

func TestFormatBandwidth(t *testing.T) {
	for in, want := range map[int64]string{2_000_000: "2 MB/s", 12_500_000: "12.5 MB/s", 1000: "1 kB/s", 999: "999 B/s", 3_000_000_000: "3 GB/s"} {
		if got := FormatBandwidth(in); got != want {
			t.Errorf("FormatBandwidth(%d) = %q, want %q", in, got, want)
		}
	}
}

// slowSink counts the writes it is given.
type slowSink struct {
	bytes.Buffer
	writes int
	max    int
}

func (s *slowSink) Write(p []byte) (int, error) {
	s.writes++
	s.max = max(s.max, len(p))
	return s.Buffer.Write(p)
}

// TestLimitedWriterHoldsTheRate: a token bucket guarantees the lower bound
// of the time (what passes is at most burst + rate·elapsed), whatever the
// load of the machine; the upper bound is loose.
func TestLimitedWriterHoldsTheRate(t *testing.T) {
	const bps = 400_000
	sink := &slowSink{}
	w := newLimitedWriter(context.Background(), sink, bps)
	data := make([]byte, 200_000)
	start := time.Now()
	for i := 0; i < 4; i++ {
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	const burst = bps / 10
	floor := time.Duration(float64(800_000-burst) / bps * float64(time.Second))
	if elapsed < floor {
		t.Errorf("800 000 bytes at %d B/s took %v, under the %v the cap allows", bps, elapsed, floor)
	}
	if elapsed > 4*floor {
		t.Errorf("800 000 bytes at %d B/s took %v: the cap slows far more than it should", bps, elapsed)
	}
	if sink.Len() != 800_000 {
		t.Errorf("sink got %d bytes", sink.Len())
	}
	if sink.max > burst {
		t.Errorf("a write of %d bytes passed at once, more than the %d burst: the stall clock would not see it move", sink.max, burst)
	}
}

func TestLimitedWriterStopsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	w := newLimitedWriter(ctx, &slowSink{}, MinBandwidth)
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := w.Write(make([]byte, 1<<20))
	if err == nil || time.Since(start) > 5*time.Second {
		t.Errorf("a cancelled write returned %v after %v", err, time.Since(start))
	}
	if w := newLimitedWriter(ctx, &slowSink{}, 0); w == nil {
		t.Error("no cap gives no writer")
	} else if _, ok := w.(*limitedWriter); ok {
		t.Error("a zero cap limits the stream")
	}
}

// TestStageHoldsTheCapAndStagesNoLeftover: a capped push to the real agent
// takes at least what the cap allows for the bytes on the wire, and the
// staged copy is the dataset's files without the leftovers beside them.
func TestStageHoldsTheCapAndStagesNoLeftover(t *testing.T) {
	w := newWorld(t)
	for _, f := range []string{".DS_Store", "images/.DS_Store", "images/Thumbs.db", "images/._img_00000.jpg"} {
		if err := os.WriteFile(filepath.Join(w.local, f), []byte("leftover"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	o := w.options(context.Background())
	const bps = 20_000
	o.BWLimit = bps
	start := time.Now()
	res, err := Sync(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	burst := int64(max(bps/10, 4<<10))
	if floor := time.Duration(float64(res.WireBytes-burst) / bps * float64(time.Second)); took < floor {
		t.Errorf("%d bytes on the wire in %v, under the %v a %d B/s cap allows", res.WireBytes, took, floor, bps)
	}
	got := tree(t, w.staged())
	for _, f := range []string{".DS_Store", "images/.DS_Store", "images/Thumbs.db", "images/._img_00000.jpg"} {
		if _, ok := got[f]; ok {
			t.Errorf("%s is staged", f)
		}
	}
	if len(got) != 7 {
		t.Errorf("staged %d files, want labels.csv and 6 images", len(got))
	}
}
