package dataset

import (
	"math"
	"runtime/debug"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/internal/heaptest"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
)

// textBytesPerFile bounds what the text pre-flight holds live at its
// peak, a file, beyond ds.Files itself (the list push stages from): the
// growth of ds.Files as the folder is listed, a bit a file for the rows'
// files; the check cache is read and written alongside, never held. The
// folder read whole, a map of the names, the list of the referenced files
// and a result and a report per file took 150 bytes a file; now under 30.
const textBytesPerFile = 64

// textPeak is the live heap's peak above where it started while CheckText
// checks dir, less what ds.Files holds.
func textPeak(t *testing.T, dir, cacheDir string) (peak int64, cached int) {
	t.Helper()
	o := textOpts(t, "text_classification")
	o.CacheDir = cacheDir
	var ds *Dataset
	var err error
	peak = heaptest.PeakAbove(heaptest.LiveHeap, func() { ds, err = CheckText(dir, o) })
	if err != nil {
		t.Fatal(err)
	}
	files := int64(cap(ds.Files)) * int64(sizeofFile)
	for _, f := range ds.Files {
		files += int64(len(f.Rel)+7) &^ 7
	}
	return peak - files, ds.Cached
}

// sizeofFile is the size of a File on a 64-bit platform.
const sizeofFile = 64

// TestTextHeapPerFile checks folders of two sizes, first with the check
// cache empty, then from it, and bounds the heap's growth a file between
// them beyond ds.Files (the slope: what is fixed cancels out).
func TestTextHeapPerFile(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 24 000 files")
	}
	pastRacyWindow(t)
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	const small, big = 4000, 20000
	dirs := map[int]string{}
	for _, n := range []int{small, big} {
		dirs[n] = t.TempDir()
		must(t, fixture.WriteText(dirs[n], fixture.TextOptions{Task: "text_classification", Files: n, Seed: 1}))
	}
	caches := map[int]string{small: t.TempDir(), big: t.TempDir()}
	for _, run := range []string{"read", "from the cache"} {
		var peaks [2]int64
		for k, n := range []int{small, big} {
			p, cached := textPeak(t, dirs[n], caches[n])
			if want := map[string]int{"read": 0, "from the cache": n}[run]; cached != want {
				t.Fatalf("%s: %d files from the cache, want %d", run, cached, want)
			}
			peaks[k] = p
		}
		per := (peaks[1] - peaks[0]) / (big - small)
		t.Logf("%s: heap at its peak beyond ds.Files: %d bytes (%d files), %d bytes (%d files): %d bytes a file", run, peaks[0], small, peaks[1], big, per)
		if bound := int64(textBytesPerFile * heapPercent / 100); per > bound {
			t.Errorf("%s: the check held %d bytes a file beyond ds.Files at its peak, bound %d: a million files would not fit the plugin's bound", run, per, bound)
		}
	}
}
