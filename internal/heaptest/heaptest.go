// Package heaptest measures, for the memory tests, how high the heap
// goes while a piece of code runs.
package heaptest

import (
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"time"
)

// LiveHeap is the heap the last collection marked live: garbage not yet
// collected does not count, so a peak of it does not hang on when the
// collector ran (run under a low GC percent, it is marked often).
const LiveHeap = "/gc/heap/live:bytes"

// HeapObjects is every object on the heap, garbage included.
const HeapObjects = "/memory/classes/heap/objects:bytes"

// PeakAbove runs f and returns the peak of the metric (LiveHeap or
// HeapObjects) while it ran, above its value after a collection just
// before, sampled every millisecond.
func PeakAbove(metric string, f func()) int64 {
	s := []metrics.Sample{{Name: metric}}
	read := func() uint64 { metrics.Read(s); return s[0].Value.Uint64() }
	runtime.GC()
	before := read()
	var peak atomic.Uint64
	done, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			if v := read(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	f()
	if v := read(); v > peak.Load() {
		peak.Store(v)
	}
	close(done)
	<-sampled
	return int64(peak.Load()) - int64(before)
}
