//go:build e2e

package bench

import (
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
)

// BenchmarkPreflightObjectDetection20k: the pre-flight of 20 000 images with
// a Pascal VOC file each, beside the same images as image classification.
// Target: object detection takes at most twice as long.
func BenchmarkPreflightObjectDetection20k(b *testing.B) {
	ic := benchData(b, "preflight-20k", fixture.Options{Images: 20000, Width: 64, Height: 64})
	od := benchData(b, "preflight-od-20k", fixture.Options{Images: 20000, Width: 64, Height: 64, Task: fixture.ObjectDetection})
	dry := func(dir, task string) run {
		r := timed(b, nil, plugin, "push", dir, "--table", "bench_preflight_od", "-n", ns, "--dry-run", "-q", "--task", task)
		if r.code != 0 {
			b.Fatalf("dry run of %s:\n%s", task, r.out)
		}
		return r
	}
	// Warm the page cache for both, then alternate and keep the medians.
	dry(ic, "image_classification")
	dry(od, "object_detection")
	var ics, ods []run
	for i := 0; i < 3; i++ {
		ics = append(ics, dry(ic, "image_classification"))
		ods = append(ods, dry(od, "object_detection"))
	}
	mi, mo := medianRun(ics), medianRun(ods)
	const section = "Pre-flight by task"
	record(section, "| dataset, `push --dry-run` incl. cluster discovery (median of 3) | wall time | peak RSS |\n| --- | --- | --- |")
	record(section, "| image_classification: 20 000 64×64 JPEGs + labels.csv | %.2f s | %.1f MiB |", mi.took.Seconds(), float64(mi.maxRSS)/1024)
	record(section, "| object_detection: the same + 20 000 Pascal VOC files | %.2f s | %.1f MiB |", mo.took.Seconds(), float64(mo.maxRSS)/1024)
	record(section, "| ratio (target ≤ 2×) | %.2f× | |", mo.took.Seconds()/mi.took.Seconds())
	record(section, "")
	if ratio := mo.took.Seconds() / mi.took.Seconds(); ratio > 2 {
		b.Errorf("object detection pre-flight takes %.2f× the image classification one, over the 2× target", ratio)
	}
}

func medianRun(rs []run) run {
	best := rs[0]
	for i := range rs {
		below := 0
		for j := range rs {
			if rs[j].took < rs[i].took {
				below++
			}
		}
		if below == len(rs)/2 {
			best = rs[i]
		}
	}
	return best
}
