package codec

import (
	"math"
	"sync"
	"time"
)

// The adapter picks each chunk's codec from what the push measures as it
// goes: how fast each codec compresses and how much it shrinks the data,
// how fast the link takes what is written, how fast the files arrive.
//
// A codec carries data at min(its speed, link speed ÷ its ratio). The
// codecs that keep up (within keepUp) with the best of them, or with the
// files when they are the limit, are the candidates. When the link is what
// holds the cheapest of them back, the wire is the bottleneck and the
// candidate that shrinks most wins: zstd, or its stronger level, on a slow
// link. Otherwise the link has room and the candidate that costs the least
// CPU wins (on one core s2 compresses at about 400 MB/s, zstd at 150): the
// CPU saved goes to reading the files, and, on a machine that also runs
// the cluster, to the stage Pod.
type adapter struct {
	mu sync.Mutex
	// cost (seconds a byte of data) and ratio (payload/data) of each
	// codec; zero until measured. Costs, not speeds, are averaged: one
	// write that waits 50 ms and one that takes 1 ms average to the link's
	// pace only as times.
	cost  [nCodecs]float64
	ratio [nCodecs]float64
	// drain is the link's cost (seconds a byte written), produce the
	// files' (seconds a byte of data); zero until measured.
	drain   float64
	produce float64
	cur     int
	chunks  int
	// workers compress chunks side by side.
	workers float64
}

const (
	// keepUp: a codec within this share of the best throughput keeps up.
	keepUp = 0.9
	// probeEvery: every so many chunks, one goes with the other codec, so
	// its figures follow the data and the machine.
	probeEvery = 32
	// smoothing of the running figures (weight of a new sample).
	smoothing = 0.25
)

func ewma(old, sample float64) float64 {
	if old == 0 {
		return sample
	}
	return old + smoothing*(sample-old)
}

// perByte is the seconds a byte took, never zero.
func perByte(n int, d time.Duration) float64 {
	return max(d.Seconds(), 1e-9) / float64(max(n, 1))
}

func (a *adapter) compressed(c, data, payload int, took time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cost[c] = ewma(a.cost[c], perByte(data, took))
	a.ratio[c] = ewma(a.ratio[c], float64(payload)/float64(data))
}

func (a *adapter) drained(n int, took time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.drain = ewma(a.drain, perByte(n, took))
}

func (a *adapter) produced(n int, took time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.produce = ewma(a.produce, perByte(n, took))
}

// choose picks the codec of the next chunk, and a second one to probe
// with it (-1 for none).
func (a *adapter) choose() (int, int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	// zstd and s2 are measured first, zstd first: its chunks cost a slow
	// link the least. The stronger zstd level is measured (and its encoder
	// made) only once the link is seen to be the bottleneck: elsewhere it
	// is never picked.
	for _, c := range []int{codecZstd, codecS2} {
		if a.cost[c] == 0 {
			return c, -1
		}
	}
	a.chunks++
	linkBound := false
	a.cur, linkBound = a.best()
	if linkBound && a.cost[codecZstdBetter] == 0 {
		return codecZstdBetter, -1
	}
	probe := -1
	if a.chunks%probeEvery == 0 {
		// The codecs measured besides the one picked, in turn.
		var others []int
		for c := range nCodecs {
			if c != a.cur && a.cost[c] > 0 {
				others = append(others, c)
			}
		}
		probe = others[(a.chunks/probeEvery)%len(others)]
	}
	return a.cur, probe
}

// best picks among the codecs measured, and says whether the link is the
// bottleneck. The throughput (data bytes a second) of each codec is the
// lower of its compressing speed and the link's speed over its ratio.
func (a *adapter) best() (int, bool) {
	var through, link [nCodecs]float64
	top := 0.0
	for c := range nCodecs {
		if a.cost[c] == 0 {
			continue
		}
		through[c] = a.speed(c)
		link[c] = math.Inf(1)
		if a.drain > 0 && a.ratio[c] > 0 {
			link[c] = 1 / (a.drain * a.ratio[c])
		}
		through[c] = min(through[c], link[c])
		top = max(top, through[c])
	}
	files := math.Inf(1)
	if a.produce > 0 {
		files = 1 / a.produce
	}
	need := keepUp * min(top, files)
	cheapest, smallest := -1, -1
	for c := range nCodecs {
		if a.cost[c] == 0 || through[c] < need {
			continue
		}
		if cheapest < 0 || a.cost[c] < a.cost[cheapest] {
			cheapest = c
		}
		if smallest < 0 || a.ratio[c] < a.ratio[smallest] {
			smallest = c
		}
	}
	if link[cheapest] < min(a.speed(cheapest), files) {
		return smallest, true
	}
	return cheapest, false
}

// speed is how fast the workers together compress with codec c.
func (a *adapter) speed(c int) float64 {
	return max(a.workers, 1) / a.cost[c]
}
