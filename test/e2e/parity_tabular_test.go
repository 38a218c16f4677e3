//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// Tabular datasets the ingestor judges otherwise than the pre-flight did
// before issue 22, through the built plugin: its dry run, and one real
// push of a CSV it used to refuse that the ingestor takes.

// TestTabularIssue22DryRun: the dry run gives the ingestor's verdict.
func TestTabularIssue22DryRun(t *testing.T) {
	classes := func(i int) string { return []string{"cat", "dog"}[i%2] }
	tests := []struct {
		name, task, header string
		row                func(i int) string
		extra              []string
		code               int
		want               string
	}{
		{"a BOM", "tabular_classification", "\ufeffx,y,label", func(i int) string { return fmt.Sprintf("%d,%d.5,%s", i, i, classes(i)) }, nil, 0, "dry run"},
		{"BOOLEAN written yes/no", "tabular_classification", "x,flag,label", func(i int) string { return fmt.Sprintf("%d,%s,%s", i, []string{"yes", "No"}[i%2], classes(i)) },
			[]string{"--schema", "x:INT,flag:BOOLEAN,label:VARCHAR(8)"}, 0, "dry run"},
		{"a comma ending every line", "tabular_classification", "x,y,label,", func(i int) string { return fmt.Sprintf("%d,%d,%s,", i, i, classes(i)) }, nil, 0, "has no name"},
		{"numbers with blanks", "tabular_classification", "x,y,label", func(i int) string { return fmt.Sprintf(" %d ,%d,%s", i, i, classes(i)) }, nil, 0, "x:INT"},
		{"1e400", "tabular_classification", "x,y,label", func(i int) string {
			if i == 3 {
				return "1e400,1," + classes(i)
			}
			return fmt.Sprintf("%d.5,%d,%s", i, i, classes(i))
		}, nil, 3, `"1e400"`},
		{"a date column in two shapes", "tabular_classification", "x,day,label", func(i int) string {
			return fmt.Sprintf("%d,%s,%s", i, []string{"2024-01-%02d", "2024/01/%02d"}[i%2], classes(i))
		}, nil, 3, "written another way than its first value"},
		{"dates written month first", "tabular_classification", "x,day,label", func(i int) string {
			return fmt.Sprintf("%d,12/%02d/2024,%s", i, i+1, classes(i))
		}, []string{"--schema", "x:INT,day:DATE,label:VARCHAR(8)"}, 0, "dry run"},
		{"dates written day first", "tabular_classification", "x,day,label", func(i int) string {
			return fmt.Sprintf("%d,%02d.06.2024,%s", i, []int{25, 5, 30, 6}[i%4], classes(i))
		}, []string{"--schema", "x:INT,day:DATE,label:VARCHAR(8)"}, 0, "are dates written day first with a day of 12 or less"},
		{"dates month first, then day first", "tabular_classification", "x,day,label", func(i int) string {
			return fmt.Sprintf("%d,%s,%s", i, []string{"05/06/2024", "25/06/2024"}[min(i, 1)], classes(i))
		}, []string{"--schema", "x:INT,day:DATE,label:VARCHAR(8)"}, 3, `"25/06/2024", written another way than its first value "05/06/2024"`},
		{"two-digit years first, then any shape", "tabular_classification", "x,day,label", func(i int) string {
			return fmt.Sprintf("%d,%s,%s", i, []string{"01/05/24", "17.05.24 10:30", "2024-06-%02d", `"jun 3, 2024"`}[i%4], classes(i))
		}, []string{"--schema", "x:INT,day:DATE,label:VARCHAR(8)"}, 0, "dry run"},
		{"a two-digit year after a four-digit one", "tabular_classification", "x,day,label", func(i int) string {
			return fmt.Sprintf("%d,%s,%s", i, []string{"01/05/2024", "01/06/24"}[min(i, 1)], classes(i))
		}, []string{"--schema", "x:INT,day:DATE,label:VARCHAR(8)"}, 3, `"01/06/24", written another way than its first value "01/05/2024"`},
		{"a text feature in a forecast", "time_series_forecasting", "timestamp,city,label", func(i int) string {
			return fmt.Sprintf("2026-01-%02d 00:00:00,%s,%d.5", i+1, []string{"Paris", "Oslo"}[i%2], i)
		}, nil, 3, `"city" (VARCHAR(255))`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tabularDataset(t, tt.header, 12, func(i int) string {
				r := tt.row(i)
				if strings.Contains(r, "%02d") {
					r = fmt.Sprintf(r, i+1)
				}
				return r
			})
			args := append([]string{"push", dir, "--table", "e2e_issue22", "--task", tt.task, "-n", ns, "--dry-run"}, tt.extra...)
			r := runPlugin(t, nil, args...)
			if r.code != tt.code || !strings.Contains(r.stdout+r.stderr, tt.want) {
				t.Fatalf("want exit %d and %q:\n%s", tt.code, tt.want, r)
			}
		})
	}
}

// TestTabularIssue22Ingests: a CSV with a BOM, BOOLEAN written yes/no and
// a comma ending every line, which the pre-flight refused, is staged and
// ingested.
func TestTabularIssue22Ingests(t *testing.T) {
	const table = "e2e_issue22_ingest"
	forgetTable(t, table)
	dir := tabularDataset(t, "\ufeffx,flag,label,", 20, func(i int) string {
		return fmt.Sprintf("%d,%s,%s,", i, []string{"yes", "no"}[i%2], []string{"cat", "dog"}[i%2])
	})
	r, rep := ingestDir(t, dir, table, "--task", "tabular_classification", "--schema", "x:INT,flag:BOOLEAN,label:VARCHAR(8)")
	if r.code != 0 || rep.Status != "ingested" || rep.Run == nil || rep.Run.Summary == nil || rep.Run.Summary.Inserted != 20 {
		t.Fatalf("want 20 records ingested:\n%s", r)
	}
}

// TestDatesWrittenMonthFirstIngest: a declared DATE column written
// 12/31/2024, which the pre-flight refused and the ingestor takes, is
// staged and ingested.
func TestDatesWrittenMonthFirstIngest(t *testing.T) {
	const table = "e2e_dates_month_first"
	forgetTable(t, table)
	dir := tabularDataset(t, "x,day,label", 20, func(i int) string {
		return fmt.Sprintf("%d,%d/%d/2024,%s", i, 1+i%12, 13+i%15, []string{"cat", "dog"}[i%2])
	})
	r, rep := ingestDir(t, dir, table, "--task", "tabular_classification", "--schema", "x:INT,day:DATE,label:VARCHAR(8)")
	if r.code != 0 || rep.Status != "ingested" || rep.Run == nil || rep.Run.Summary == nil || rep.Run.Summary.Inserted != 20 {
		t.Fatalf("want 20 records ingested:\n%s", r)
	}
}
