package dataset

import (
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/category"
	"github.com/tracebloc/kubectl-tracebloc/pkg/spec"
)

// TestOrderingFromTheContract: which column must not decrease, and over
// what, comes from the task's ordering, not from its name.
func TestOrderingFromTheContract(t *testing.T) {
	tests := []struct{ task, order, group string }{
		{"time_series_forecasting", "timestamp", ""},
		{"time_series_classification", "timestamp", "sequence_id"},
		{"time_to_event_prediction", "", ""},
		{"tabular_classification", "", ""},
		{"tabular_regression", "", ""},
	}
	for _, tt := range tests {
		task, ok := category.Lookup(tt.task)
		if !ok {
			t.Fatalf("no task %s", tt.task)
		}
		o := TabularOptionsFor(task, "label", spec.PolicyBucket, "time", nil, DefaultLimits)
		if o.OrderColumn != tt.order || o.GroupColumn != tt.group {
			t.Errorf("%s: order %q per group %q, want %q per %q", tt.task, o.OrderColumn, o.GroupColumn, tt.order, tt.group)
		}
	}
	// A task under another name with the forecasting ordering is ordered
	// the same way; forecasting without one is not ordered.
	tsf, _ := category.Lookup("time_series_forecasting")
	renamed := tsf
	renamed.Name = "forecast_v2"
	if o := TabularOptionsFor(renamed, "label", spec.PolicyBucket, "", nil, DefaultLimits); o.OrderColumn != "timestamp" {
		t.Errorf("a renamed forecasting task has order column %q, want timestamp", o.OrderColumn)
	}
	unordered := tsf
	unordered.Ordering = nil
	if o := TabularOptionsFor(unordered, "label", spec.PolicyBucket, "", nil, DefaultLimits); o.OrderColumn != "" {
		t.Errorf("forecasting without an ordering has order column %q, want none", o.OrderColumn)
	}
}
