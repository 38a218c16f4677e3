package dataset

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/category"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
)

// BenchmarkCheck20k: Check alone on 20 000 64×64 images, as image
// classification and, with a Pascal VOC file each, as object detection.
// The datasets are generated once under the temp folder and kept.
func BenchmarkCheck20k(b *testing.B) {
	for _, task := range []string{"image_classification", fixture.ObjectDetection} {
		b.Run(task, func(b *testing.B) {
			dir := filepath.Join(os.TempDir(), "tracebloc-bench-check", task)
			if _, err := os.Stat(filepath.Join(dir, "labels.csv")); err != nil {
				o := fixture.Options{Images: 20000, Width: 64, Height: 64}
				if task != "image_classification" {
					o.Task = task
				}
				if err := fixture.Write(dir, o); err != nil {
					b.Fatal(err)
				}
			}
			tk, _ := category.Lookup(task)
			for b.Loop() {
				if _, err := Check(dir, Options{Task: tk, LabelColumn: "label", Limits: DefaultLimits}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
