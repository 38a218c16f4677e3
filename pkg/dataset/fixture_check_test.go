package dataset

import (
	"path/filepath"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/category"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
	"github.com/tracebloc/kubectl-tracebloc/pkg/spec"
)

// TestGeneratedDatasetsPass holds the generator and the checks to each
// other: every generated text and tabular dataset passes its task's check.
func TestGeneratedDatasetsPass(t *testing.T) {
	for _, task := range category.All() {
		switch task.Family {
		case category.FamilyText:
			t.Run(task.Name, func(t *testing.T) {
				dir := t.TempDir()
				if err := fixture.WriteText(dir, fixture.TextOptions{Task: task.Name, Files: 12}); err != nil {
					t.Fatal(err)
				}
				ds, err := CheckText(dir, TextOptionsFor(task, "label", DefaultLimits))
				if err != nil {
					t.Fatal(err)
				}
				want := 13
				if task.Name == "masked_language_modeling" {
					want++ // tokenizer.json
				}
				if len(ds.Files) != want || ds.Rows != 12 || ds.Images != 12 {
					t.Errorf("files, rows, texts = %d, %d, %d, want %d, 12, 12", len(ds.Files), ds.Rows, ds.Images, want)
				}
			})
		case category.FamilyTabular:
			t.Run(task.Name, func(t *testing.T) {
				p := filepath.Join(t.TempDir(), "d.csv")
				if _, err := fixture.WriteTabular(p, fixture.TabularOptions{Task: task.Name, Rows: 300}); err != nil {
					t.Fatal(err)
				}
				label := map[string]string{"tabular_regression": "price", "time_series_forecasting": "target", "time_to_event_prediction": "event"}[task.Name]
				if label == "" {
					label = "label"
				}
				o := TabularOptionsFor(task, label, spec.PolicyBucket, "time", nil, DefaultLimits)
				o.Now = testNow
				tb, err := CheckTabular(p, o)
				if err != nil {
					t.Fatal(err)
				}
				if tb.Rows != 300 {
					t.Errorf("rows = %d, want 300", tb.Rows)
				}
				if task.Grouping != nil && tb.Sequences != 10 {
					t.Errorf("sequences = %d, want 10", tb.Sequences)
				}
			})
		}
	}
}
