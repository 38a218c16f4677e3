package spec

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// TestParseFlags: the flags are read once, for their task, with the rule
// and the fix in every refusal.
func TestParseFlags(t *testing.T) {
	base := Flags{Table: "t", Category: "tabular_classification", Intent: "train", LabelColumn: "label"}
	tests := []struct {
		name     string
		mutate   func(*Flags)
		wantCode int
		wantErr  string
		want     func(*testing.T, Parsed)
	}{
		{name: "the table first", mutate: func(f *Flags) { f.Table = "a/b"; f.DataID = "sha" }, wantCode: exitcode.BadFlags, wantErr: "not allowed"},
		{name: "a bad data id", mutate: func(f *Flags) { f.DataID = "sha" }, wantCode: exitcode.BadFlags, wantErr: "--data-id column:id"},
		{name: "column ids need a CSV", mutate: func(f *Flags) { f.Category = "object_detection"; f.DataID = "column:id" }, wantCode: exitcode.BadFlags, wantErr: "content_hash"},
		{name: "content_hash on any task", mutate: func(f *Flags) { f.Category = "object_detection"; f.DataID = "content_hash" },
			want: func(t *testing.T, p Parsed) {
				if p.Inputs.DataID == nil || p.Inputs.DataID.Strategy != DataIDContentHash {
					t.Errorf("data id %+v", p.Inputs.DataID)
				}
			}},
		{name: "a column id warns, even when a flag after it is refused", mutate: func(f *Flags) { f.DataID = "column:id"; f.LabelPolicy = "raw"; f.Category = "tabular_regression" },
			wantCode: exitcode.BadFlags, wantErr: `--label-policy "raw" is not allowed`,
			want: func(t *testing.T, p Parsed) {
				if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], `column "id" leave the cluster`) {
					t.Errorf("warnings %q", p.Warnings)
				}
			}},
		{name: "the declared schema", mutate: func(f *Flags) { f.Schema = "a:INT,label:VARCHAR(8)" },
			want: func(t *testing.T, p Parsed) {
				if diff := cmp.Diff(map[string]string{"a": "INT", "label": "VARCHAR(8)"}, p.Inputs.Schema); diff != "" {
					t.Errorf("schema (-want +got):\n%s", diff)
				}
				if p.Declared == nil {
					t.Error("no declared schema")
				}
			}},
		{name: "a reserved column", mutate: func(f *Flags) { f.Schema = "id:INT" }, wantCode: exitcode.BadFlags, wantErr: `column "id" is reserved`},
		{name: "the default label policy", mutate: func(f *Flags) { f.Category = "tabular_regression" },
			want: func(t *testing.T, p Parsed) {
				if p.Inputs.LabelPolicy != p.Task.Spec.LabelPolicy || p.Inputs.LabelPolicy == "" {
					t.Errorf("policy %q, task default %q", p.Inputs.LabelPolicy, p.Task.Spec.LabelPolicy)
				}
			}},
		{name: "time to event defaults its time column", mutate: func(f *Flags) { f.Category = "time_to_event_prediction" },
			want: func(t *testing.T, p Parsed) {
				if p.Inputs.TimeColumn != DefaultTimeColumn {
					t.Errorf("time column %q", p.Inputs.TimeColumn)
				}
			}},
		{name: "a fixed time column named again is a note", mutate: func(f *Flags) { f.Category = "time_series_forecasting"; f.TimeColumn = " Timestamp " },
			want: func(t *testing.T, p Parsed) {
				if len(p.Notes) != 1 || !strings.Contains(p.Notes[0], "redundant") {
					t.Errorf("notes %q", p.Notes)
				}
			}},
		{name: "another fixed time column", mutate: func(f *Flags) { f.Category = "time_series_forecasting"; f.TimeColumn = "ts" }, wantCode: exitcode.BadFlags, wantErr: `fixes its time column as "timestamp"`},
		{name: "an unknown task is left to the schema", mutate: func(f *Flags) { f.Category = "audio"; f.Schema = "id:INT" },
			want: func(t *testing.T, p Parsed) {
				if p.Task.Name != "" || p.Inputs.Category != "audio" {
					t.Errorf("task %q, category %q", p.Task.Name, p.Inputs.Category)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := base
			tt.mutate(&f)
			p, err := ParseFlags(f)
			if code := exitcode.Of(err); code != tt.wantCode || (tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v (exit %d), want exit %d with %q", err, code, tt.wantCode, tt.wantErr)
			}
			if tt.want != nil {
				tt.want(t, p)
			}
		})
	}
}
