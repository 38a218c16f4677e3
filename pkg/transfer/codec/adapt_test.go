package codec

import (
	"testing"
	"time"
)

const mb = 1e6

// measured gives the adapter figures as if it had measured them: speeds in
// bytes a second (0 leaves a figure unmeasured).
func measured(speed, ratio [nCodecs]float64, link, files float64) *adapter {
	a := &adapter{}
	for c := range nCodecs {
		if speed[c] > 0 {
			a.cost[c], a.ratio[c] = 1/speed[c], ratio[c]
		}
	}
	if link > 0 {
		a.drain = 1 / link
	}
	if files > 0 {
		a.produce = 1 / files
	}
	return a
}

// Figures of the bench CSV on one core: zstd 150 MB/s at 0.384, s2 400 at
// 0.655, zstd-better 90 at 0.370.
var (
	csvSpeed = [nCodecs]float64{150 * mb, 400 * mb, 90 * mb}
	csvRatio = [nCodecs]float64{0.384, 0.655, 0.370}
)

func TestAdapterPicksByLinkAndFiles(t *testing.T) {
	tests := []struct {
		name        string
		link, files float64
		want        int
	}{
		// 100 Mbit/s: zstd carries 32.6 MB/s of data, zstd-better 33.8,
		// s2 19: the better ratio wins among the two that keep up.
		{"slow link", 12.5 * mb, 1000 * mb, codecZstdBetter},
		// A link of 200 MB/s takes s2's output at 305 MB/s of data; zstd
		// cannot compress faster than 150.
		{"fast link", 200 * mb, 1000 * mb, codecS2},
		// The files come at 40 MB/s: every codec keeps up and the link has
		// room even for s2's output: the CPU is spared.
		{"slow files, fast link", 200 * mb, 40 * mb, codecS2},
		// The files come at 40 MB/s; s2's output would fill a 20 MB/s link
		// at 30 MB/s of data, zstd's at 52: zstd is the cheapest codec
		// that keeps up, and the link has room for it.
		{"slow files, slow link", 20 * mb, 40 * mb, codecZstd},
		// 50 MB/s: zstd carries 130 MB/s of data, zstd-better 90, s2 76:
		// only zstd is within keepUp of the best.
		{"middle link", 50 * mb, 1000 * mb, codecZstd},
		// Nothing measured of the link yet: the codecs' own speeds decide.
		{"unknown link", 0, 0, codecS2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := measured(csvSpeed, csvRatio, tt.link, tt.files)
			if got, _ := a.choose(); got != tt.want {
				t.Errorf("picked %s, want %s", codecNames[got], codecNames[tt.want])
			}
		})
	}
}

func measure(a *adapter, c int) {
	a.compressed(c, chunkSize, int(csvRatio[c]*chunkSize), time.Duration(float64(chunkSize)/csvSpeed[c]*float64(time.Second)))
}

// zstd and s2 are measured first; the stronger level only once the link is
// the bottleneck, and then it is probed like the others.
func TestAdapterMeasuresEachCodecFirstThenProbes(t *testing.T) {
	for _, tt := range []struct {
		name   string
		link   float64
		better bool
	}{
		{"fast link", 500 * mb, false},
		{"slow link", 12.5 * mb, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := &adapter{}
			for _, want := range []int{codecZstd, codecS2} {
				c, probe := a.choose()
				if c != want || probe != -1 {
					t.Fatalf("measuring: picked %d (probe %d), want %d", c, probe, want)
				}
				measure(a, c)
			}
			a.drained(chunkSize, time.Duration(float64(chunkSize)/tt.link*float64(time.Second)))
			probed := map[int]int{}
			for i := 1; i <= 4*probeEvery; i++ {
				c, probe := a.choose()
				if c == codecZstdBetter && a.cost[c] == 0 {
					measure(a, c)
				}
				switch {
				case i%probeEvery != 0 && probe != -1:
					t.Fatalf("chunk %d probes", i)
				case i%probeEvery == 0 && (probe < 0 || probe == c):
					t.Fatalf("chunk %d: probe %d beside %d", i, probe, c)
				case probe >= 0:
					probed[probe]++
				}
			}
			if measured := a.cost[codecZstdBetter] > 0; measured != tt.better {
				t.Errorf("zstd-better measured: %v, want %v", measured, tt.better)
			}
			if want := 1; tt.better {
				want = 2
				if len(probed) != want {
					t.Errorf("probed %v: every other codec measured should get its turn", probed)
				}
			} else if len(probed) != want {
				t.Errorf("probed %v: the other codec measured should get its turn", probed)
			}
		})
	}
}

// Writes that alternately wait 50 ms and take 1 ms move 2 chunks in 51 ms:
// averaging their speeds would take the link for 13 times faster than it
// is, and pick s2 on a slow link.
func TestAdapterAveragesTimesNotSpeeds(t *testing.T) {
	a := measured(csvSpeed, csvRatio, 0, 1000*mb)
	for i := 0; i < 40; i++ {
		took := time.Millisecond
		if i%2 == 0 {
			took = 50 * time.Millisecond
		}
		a.drained(200<<10, took)
	}
	link := 1 / a.drain
	actual := 2 * float64(200<<10) / 0.051
	if link > 1.5*actual || link < actual/1.5 {
		t.Errorf("link taken for %.1f MB/s, it moved %.1f", link/mb, actual/mb)
	}
	if got, _ := a.choose(); got == codecS2 {
		t.Errorf("picked s2 on a link of %.1f MB/s", actual/mb)
	}
}
