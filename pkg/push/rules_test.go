package push

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/spec"
)

func forecastCSV() string {
	var b strings.Builder
	b.WriteString("timestamp,load,label\n")
	for i := 1; i <= 9; i++ {
		b.WriteString("2026-01-0" + string(rune('0'+i)) + " 00:00:00," + string(rune('0'+i)) + "," + string(rune('0'+i)) + ".5\n")
	}
	return b.String()
}

func classCSV(header string, rows ...string) string {
	return header + "\n" + strings.Join(rows, "\n") + "\n"
}

// TestRulesTabular: the ingestor's rules on column names (rule 14), the
// time column of the time-series tasks (rule 16) and data_id.
func TestRulesTabular(t *testing.T) {
	long := strings.Repeat("a", 65)
	cls := func(header string) string {
		return classCSV(header, "1,2,x", "2,3,y", "3,4,x", "4,5,y")
	}
	tests := []struct {
		name, task, csv string
		mutate          func(*testPush)
		wantCode        int
		want            string // in the error, or in the output when wantCode is 0
		wantDataID      *spec.DataID
	}{
		{name: "timestamp in another case is redundant", task: "time_series_forecasting", csv: forecastCSV(),
			mutate: func(o *testPush) { o.Flags.TimeColumn = " Timestamp " }, want: "redundant"},
		{name: "another time column is refused", task: "time_series_forecasting", csv: forecastCSV(),
			mutate: func(o *testPush) { o.Flags.TimeColumn = "ts" }, wantCode: exitcode.BadFlags, want: `fixes its time column as "timestamp"`},
		{name: "time column on classification is refused", task: "tabular_classification", csv: cls("a,b,label"),
			mutate: func(o *testPush) { o.Flags.TimeColumn = "a" }, wantCode: exitcode.BadFlags, want: "applies to time_to_event_prediction"},
		{name: "a 65-character column", task: "tabular_classification", csv: cls("a," + long + ",label"),
			wantCode: exitcode.Local, want: long + `" is 65 characters long`},
		{name: "a 65-character label column is the ingestor's label", task: "tabular_classification", csv: cls("a,b," + long),
			mutate: func(o *testPush) { o.Flags.LabelColumn = long }, want: "dry run"},
		// The ingestor leaves the column out of the table (issue 22): a
		// warning names the way to keep it.
		{name: "a reserved id column names the way out", task: "tabular_classification", csv: cls("id,b,label"),
			want: "--data-id column:"},
		{name: "the id column as data_id", task: "tabular_classification", csv: cls("id,b,label"),
			mutate: func(o *testPush) { o.Flags.DataID = "column:id" }, want: "leave the cluster", wantDataID: &spec.DataID{Strategy: "column", Column: "id"}},
		{name: "the id column as data_id with --schema", task: "tabular_classification", csv: cls("id,b,label"),
			mutate: func(o *testPush) { o.Flags.DataID = "column:id"; o.Flags.Schema = "id:INT,b:INT,label:VARCHAR(8)" }, want: "dry run",
			wantDataID: &spec.DataID{Strategy: "column", Column: "id"}},
		{name: "a data_id column the CSV lacks", task: "tabular_classification", csv: cls("a,b,label"),
			mutate: func(o *testPush) { o.Flags.DataID = "column:id" }, wantCode: exitcode.Local, want: `no data_id column "id"`},
		{name: "a data_id column with an empty cell", task: "tabular_classification", csv: classCSV("id,b,label", "1,2,x", ",3,y", "3,4,x", "4,5,y"),
			mutate: func(o *testPush) { o.Flags.DataID = "column:id" }, wantCode: exitcode.Local, want: `no value in "id"`},
		{name: "content_hash", task: "tabular_classification", csv: cls("a,b,label"),
			mutate: func(o *testPush) { o.Flags.DataID = "content_hash" }, want: "dry run", wantDataID: &spec.DataID{Strategy: "content_hash"}},
		{name: "a bad strategy", task: "tabular_classification", csv: cls("a,b,label"),
			mutate: func(o *testPush) { o.Flags.DataID = "sha" }, wantCode: exitcode.BadFlags, want: "--data-id column:id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(chart("tb")...)
			allowAllBut(client, "")
			o, out := options(t, client, nil)
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "data.csv"), []byte(tt.csv), 0o644); err != nil {
				t.Fatal(err)
			}
			o.Local.Path, o.Flags.Category, o.Ingest.StageOnly = dir, tt.task, true
			if tt.mutate != nil {
				tt.mutate(o)
			}
			r, err := o.run(t.Context())
			if got := exitcode.Of(err); got != tt.wantCode {
				t.Fatalf("exit %d, want %d: %v\n%s", got, tt.wantCode, err, out)
			}
			text := out.String()
			if err != nil {
				text = err.Error()
			} else {
				text += "dry run"
			}
			if !strings.Contains(text, tt.want) {
				t.Errorf("want %q in:\n%s", tt.want, text)
			}
			if err == nil {
				if got := r.Spec.DataID; (got == nil) != (tt.wantDataID == nil) || got != nil && *got != *tt.wantDataID {
					t.Errorf("spec data_id %+v, want %+v", got, tt.wantDataID)
				}
				if err := spec.Validate(*r.Spec); err != nil {
					t.Errorf("the spec fails the schema: %v", err)
				}
				if r.Spec.TimeColumn != "" && tt.task != "time_to_event_prediction" {
					t.Errorf("time_column %q in the spec of %s", r.Spec.TimeColumn, tt.task)
				}
			}
		})
	}
}

// TestDataIDImageLabels: column:<name> on an image dataset reads labels.csv.
func TestDataIDImageLabels(t *testing.T) {
	for _, tc := range []struct {
		col  string
		code int
	}{{"filename", 0}, {"nope", exitcode.Local}} {
		client := fake.NewClientset(chart("tb")...)
		allowAllBut(client, "")
		o, out := options(t, client, nil)
		o.Flags.DataID = "column:" + tc.col
		r, err := o.run(t.Context())
		if exitcode.Of(err) != tc.code {
			t.Fatalf("column %s: exit %d, want %d: %v\n%s", tc.col, exitcode.Of(err), tc.code, err, out)
		}
		if tc.code != 0 && !strings.Contains(err.Error(), `"filename", "label"`) {
			t.Errorf("the error does not list the columns: %v", err)
		}
		if tc.code == 0 && (r.Spec.DataID == nil || r.Spec.DataID.Column != tc.col) {
			t.Errorf("spec data_id %+v", r.Spec.DataID)
		}
	}
}

// TestPerIngestionTablesWarns: with the jobs-manager's PER_INGESTION_TABLES
// on, the summary says so and an image push is warned; a tabular one is not.
func TestPerIngestionTablesWarns(t *testing.T) {
	for _, tc := range []struct {
		value, task string
		summary     bool
		warn        bool
	}{
		{"1", "image_classification", true, true},
		{"true", "tabular_classification", true, false},
		{"0", "image_classification", false, false},
	} {
		objs := chart("tb")
		d := objs[0].(*appsv1.Deployment)
		d.Spec.Template.Spec.Containers = []corev1.Container{{Name: "api", Env: []corev1.EnvVar{{Name: "PER_INGESTION_TABLES", Value: tc.value}}}}
		client := fake.NewClientset(objs...)
		allowAllBut(client, "")
		o, out := options(t, client, nil)
		o.ShowSummary = true
		if tc.task != "image_classification" {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "data.csv"), []byte(classCSV("a,b,label", "1,2,x", "2,3,y")), 0o644); err != nil {
				t.Fatal(err)
			}
			o.Local.Path, o.Flags.Category = dir, tc.task
		}
		r, err := o.run(t.Context())
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", tc.value, tc.task, err, out)
		}
		if got := strings.Contains(out.String(), "per-ingestion (PER_INGESTION_TABLES on)"); got != tc.summary || r.Release.PerIngestionTables != tc.summary {
			t.Errorf("%s %s: summary line %v, report %v, want %v\n%s", tc.value, tc.task, got, r.Release.PerIngestionTables, tc.summary, out)
		}
		if got := strings.Contains(out.String(), "documents that this mode refuses image tasks"); got != tc.warn {
			t.Errorf("%s %s: warning %v, want %v\n%s", tc.value, tc.task, got, tc.warn, out)
		}
	}
}
