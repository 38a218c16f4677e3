package dataset

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/spec"
)

var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func mustSchema(t *testing.T, arg string) spec.Schema {
	t.Helper()
	s, err := spec.ParseSchema(arg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func writeCSV(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "data.csv")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckTabularAccepts(t *testing.T) {
	tests := []struct {
		name      string
		csv       string
		opts      TabularOptions
		wantArg   string
		wantRows  int
		wantSeqs  int
		wantLabel map[string]int
	}{
		{
			name:      "classification, inferred",
			csv:       "age,income,city,member,label\n30,1.5,Paris,true,yes\n41,,Lyon,false,no\n",
			opts:      TabularOptions{LabelColumn: "label", MinLabels: 2},
			wantArg:   "age:INT,income:DOUBLE,city:VARCHAR(255),member:BOOLEAN,label:VARCHAR(255)",
			wantRows:  2,
			wantLabel: map[string]int{"yes": 1, "no": 1},
		},
		{
			name:     "regression, declared, missing values are NULL",
			csv:      "x,price\n1,2.5\nNA,3e2\n",
			opts:     TabularOptions{LabelColumn: "price", NumericLabel: true, Schema: spec.Schema{}},
			wantArg:  "x:INT,price:DECIMAL(10,2)",
			wantRows: 2,
		},
		{
			name:     "forecasting: times ascend, equal times allowed",
			csv:      "timestamp,value\n2024-01-01 00:00:00,1\n2024-01-01 00:00:00,2\n2024-01-02 10:00:00,3\n",
			opts:     TabularOptions{LabelColumn: "value", NumericLabel: true, OrderColumn: "timestamp"},
			wantArg:  "timestamp:DATETIME,value:INT",
			wantRows: 3,
		},
		{
			name:      "time series classification: order within each sequence",
			csv:       "sequence_id,timestamp,v,label\na,1,0.1,up\nb,1,0.2,down\na,2,0.3,up\nb,2,0.4,down\n",
			opts:      TabularOptions{LabelColumn: "label", MinLabels: 2, OrderColumn: "timestamp", GroupColumn: "sequence_id"},
			wantArg:   "sequence_id:VARCHAR(255),timestamp:INT,v:DOUBLE,label:VARCHAR(255)",
			wantRows:  4,
			wantSeqs:  2,
			wantLabel: map[string]int{"up": 2, "down": 2},
		},
		{
			name:     "time to event",
			csv:      "time,event,age\n3.5,1,40\n0,0,51\n",
			opts:     TabularOptions{LabelColumn: "event", NumericLabel: true, DurationColumn: "time"},
			wantArg:  "time:DOUBLE,event:INT,age:INT",
			wantRows: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.opts.Schema != nil {
				tt.opts.Schema = mustSchema(t, tt.wantArg)
			}
			tt.opts.Now = testNow
			tt.opts.Limits = DefaultLimits
			got, err := CheckTabular(writeCSV(t, tt.csv), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantArg, got.Schema.Arg()); diff != "" {
				t.Errorf("schema (-want +got):\n%s", diff)
			}
			if got.Inferred != (tt.opts.Schema == nil) {
				t.Errorf("Inferred = %v", got.Inferred)
			}
			if got.Rows != tt.wantRows || got.Sequences != tt.wantSeqs {
				t.Errorf("rows, sequences = %d, %d, want %d, %d", got.Rows, got.Sequences, tt.wantRows, tt.wantSeqs)
			}
			if diff := cmp.Diff(tt.wantLabel, got.Labels); tt.wantLabel != nil && diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(File{Rel: LabelsFile, Local: "data.csv", Size: int64(len(tt.csv)), ModTime: got.File.ModTime}, got.File); diff != "" {
				t.Errorf("file (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCheckTabularRefuses holds each rule to the exact problem it reports.
func TestCheckTabularRefuses(t *testing.T) {
	tests := []struct {
		name   string
		csv    string
		schema string
		opts   TabularOptions
		want   []string
	}{
		{name: "inferred from 5000 rows, broken after", csv: "a,label\n" + strings.Repeat("1,x\n2,y\n", 2500) + "1.5,x\n", opts: TabularOptions{LabelColumn: "label"},
			want: []string{`data.csv line 5002: "a" is "1.5", not a whole number (INT): fix the value, or declare the column with another type in --schema`}},
		{name: "out of range", csv: "a,label\n3000000000,x\n1,y\n", schema: "a:INT,label:VARCHAR(8)", opts: TabularOptions{LabelColumn: "label"},
			want: []string{`data.csv line 2: "a" is "3000000000", not a whole number (INT): fix the value, or declare the column with another type in --schema`}},
		{name: "first N problems then a count", csv: "a,label\n" + strings.Repeat("x,y\n", 5), schema: "a:INT,label:VARCHAR(8)", opts: TabularOptions{LabelColumn: "label", MaxProblems: 2},
			want: []string{`data.csv line 2: "a" is "x", not a whole number (INT): fix the value, or declare the column with another type in --schema`,
				`data.csv line 3: "a" is "x", not a whole number (INT): fix the value, or declare the column with another type in --schema`,
				"and 3 more problems of the kind above: fix those and check again"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.schema != "" {
				tt.opts.Schema = mustSchema(t, tt.schema)
			}
			tt.opts.Now = testNow
			tt.opts.Limits = DefaultLimits
			_, err := CheckTabular(writeCSV(t, tt.csv), tt.opts)
			if exitcode.Of(err) != exitcode.Local {
				t.Fatalf("CheckTabular = %v, want exit %d", err, exitcode.Local)
			}
			var got []string
			if p := problemsOf(err); p != nil {
				got = p.List
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFindTabularCSV(t *testing.T) {
	dir := t.TempDir()
	write := func(name string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("a\n1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, _, err := FindTabularCSV(dir); err == nil || !strings.Contains(err.Error(), "holds no .csv file") {
		t.Errorf("empty folder: %v", err)
	}
	write("Data.CSV")
	write("README.md")
	root, name, notes, err := FindTabularCSV(dir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{dir, "Data.CSV", "not staged (only Data.CSV is): README.md"}, append([]string{root, name}, notes...)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	write("more.csv")
	if _, _, _, err := FindTabularCSV(dir); err == nil || !strings.Contains(err.Error(), "holds 2 .csv files (Data.CSV, more.csv)") {
		t.Errorf("two CSVs: %v", err)
	}
	if _, _, _, err := FindTabularCSV(filepath.Join(dir, "README.md")); err == nil || !strings.Contains(err.Error(), "is not a .csv file") {
		t.Errorf("not a CSV: %v", err)
	}
	if err := os.Symlink(filepath.Join(dir, "more.csv"), filepath.Join(dir, "link.csv")); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := FindTabularCSV(filepath.Join(dir, "link.csv")); err == nil || !strings.Contains(err.Error(), "is a symbolic link") {
		t.Errorf("link: %v", err)
	}
}

func problemsOf(err error) *Problems {
	var p *Problems
	if errors.As(err, &p) {
		return p
	}
	return nil
}

func TestCivilSecondsMatchesTime(t *testing.T) {
	for _, in := range []string{"1970-01-01", "1969-12-31 23:59:59", "2000-02-29 12:00:00", "2024-12-31T23:59:59.5+02:00", "1600-03-01 00:00:00Z", "2399-02-28 01:02:03-05:30"} {
		got, ok := parseDateTime([]byte(in), false)
		if !ok {
			t.Fatalf("%s does not parse", in)
		}
		layout := map[int]string{10: "2006-01-02"}[len(in)]
		if layout == "" {
			layout = "2006-01-02 15:04:05.999999999Z07:00"
		}
		norm := strings.Replace(in, "T", " ", 1)
		want, err := time.Parse(layout, norm)
		if err != nil {
			want, err = time.Parse("2006-01-02 15:04:05Z07:00", norm)
		}
		if err != nil {
			want, err = time.Parse("2006-01-02 15:04:05", norm)
		}
		if err != nil {
			t.Fatal(err)
		}
		if got.sec != want.Unix() || got.nsec != want.Nanosecond() {
			t.Errorf("%s: got %d.%09d, want %d.%09d", in, got.sec, got.nsec, want.Unix(), want.Nanosecond())
		}
	}
}
