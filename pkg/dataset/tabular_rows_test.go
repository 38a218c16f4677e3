package dataset

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tracebloc/kubectl-tracebloc/pkg/csvread"
)

// tabularVerdict is what CheckTabular says of a CSV, as compared here.
type tabularVerdict struct {
	Rows      int
	Sequences int
	Labels    map[string]int
	Schema    string
	Problems  []string
}

func checkTabularVerdict(t *testing.T, path string, o TabularOptions) tabularVerdict {
	t.Helper()
	tb, err := CheckTabular(path, o)
	if err != nil {
		p := problemsOf(err)
		if p == nil {
			t.Fatalf("CheckTabular: %v", err)
		}
		return tabularVerdict{Problems: p.List}
	}
	return tabularVerdict{Rows: tb.Rows, Sequences: tb.Sequences, Labels: tb.Labels, Schema: tb.Schema.Flag()}
}

// withAhead runs f with the given batch size and policy of the reading
// goroutine, then restores them.
func withAhead(batch [2]int, policy int, f func()) {
	oldBatch, oldPolicy := aheadBatch, checkAhead
	aheadBatch, checkAhead = batch, policy
	defer func() { aheadBatch, checkAhead = oldBatch, oldPolicy }()
	f()
}

// aheadModes are the batch sizes and policies every verdict must survive:
// one record a batch puts a batch edge between every two rows.
var aheadModes = []struct {
	name   string
	batch  [2]int
	policy int
}{
	{"one batch, cells checked row by row", [2]int{1 << 30, 1 << 30}, aheadNever},
	{"one record a batch, row by row", [2]int{1, 1}, aheadNever},
	{"one record a batch, batch checks ahead", [2]int{1, 1}, aheadAlways},
	{"two records a batch, batch checks ahead", [2]int{1 << 20, 2}, aheadAlways},
	{"three records a batch, batch checks on the checking side", [2]int{1 << 20, 3}, aheadHere},
	{"one batch, batch checks on the checking side", [2]int{1 << 30, 1 << 30}, aheadHere},
	{"16 bytes a batch, batch checks where idle", [2]int{16, 1 << 20}, aheadWhenIdle},
}

func TestCheckTabularAcrossBatches(t *testing.T) {
	tests := []struct {
		name string
		csv  string
		opts TabularOptions
		want tabularVerdict
	}{
		{
			name: "problems in line order across batches, quoted newlines counted",
			csv:  "a,b,label\n1,\"x\ny\",yes\n2,ok,no\nz,\"p\nq\nr\",yes\n4,ok,no,9\n5,\"a\\\nb\",NA\n6,y\n7,\"z\",no\n",
			opts: TabularOptions{LabelColumn: "label", Schema: mustSchema(t, "a:INT,b:VARCHAR(255),label:VARCHAR(255)")},
			want: tabularVerdict{Problems: []string{
				`data.csv line 5: "a" is "z", not a whole number (INT): fix the value, or declare the column with another type in --schema`,
				`data.csv line 8 has 4 fields, the header has 3: every row needs one value per column (quote a value that holds a comma)`,
			}},
		},
		{
			name: "sequence order and labels carried across batches",
			csv:  "sequence_id,timestamp,label\ns1,1,up\ns2,1,down\ns1,2,up\ns2,0,down\ns1,3,down\n",
			opts: TabularOptions{LabelColumn: "label", MinLabels: 2, OrderColumn: "timestamp", GroupColumn: "sequence_id"},
			want: tabularVerdict{Problems: []string{
				`data.csv line 5: sequence "s2" has "timestamp" "0" after "1" on line 3: sort each sequence's rows by timestamp, oldest first`,
				`data.csv line 6: sequence "s1" has label "down", but "up" on line 2: a sequence has one label, on every one of its rows`,
			}},
		},
		{
			name: "a fatal quote problem ends the rows wherever the batch ends",
			csv:  "a,label\n1,x\n2,y\n3,\"open\n4,z\n",
			opts: TabularOptions{LabelColumn: "label", Schema: mustSchema(t, "a:INT,label:VARCHAR(255)")},
			want: tabularVerdict{Problems: []string{
				`data.csv line 4 opens a quoted field that is never closed: check the " characters from that line on`,
			}},
		},
	}
	for _, tt := range tests {
		p := writeCSV(t, tt.csv)
		tt.opts.Now = testNow
		for _, m := range aheadModes {
			t.Run(tt.name+"/"+m.name, func(t *testing.T) {
				var got tabularVerdict
				withAhead(m.batch, m.policy, func() { got = checkTabularVerdict(t, p, tt.opts) })
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("verdict (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// randomTabularCSV writes rows mixing good values, values of the wrong
// type, missing words, quoting, escapes, bad bytes and wrong field counts.
func randomTabularCSV(r *rand.Rand, rows int) string {
	cells := [][]string{
		{"1", "-7", "3.0", "x", "", "NA", "\"12\"", "9999999999", `1\2`},
		{"1.5", "2e3", "nan", "", ".", "-0.25", "\"3.5\"", "1e", "NULL"},
		{"Paris", "\"Rome, IT\"", "\"a \"\"q\"\"\"", `a\,b`, "caf\xc3\xa9", "\xff", "", "null", "\"l1\nl2\""},
		{"yes", "no", "", "NA", "\"maybe\"", "n/a"},
	}
	var b strings.Builder
	b.WriteString("n,f,city,label\n")
	for range rows {
		k := 4
		switch r.IntN(40) {
		case 0:
			k = 3
		case 1:
			k = 5
		case 2:
			b.WriteString("\n")
		}
		for i := range k {
			if i > 0 {
				b.WriteByte(',')
			}
			col := cells[min(i, 3)]
			b.WriteString(col[r.IntN(len(col))])
		}
		b.WriteString("\n")
	}
	return b.String()
}

// TestCheckTabularSameVerdictAhead holds every batch size and policy of the
// reading goroutine to the plain one on random CSVs: same rows, labels and
// problems, in the same order. fitBatch must follow the cell checks of
// scanTabular: a rule added to those and not to cellFits fails here.
func TestCheckTabularSameVerdictAhead(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 15))
	schemas := []string{"", "n:INT,f:DOUBLE,city:VARCHAR(4),label:VARCHAR(255)", "n:INT,f:FLOAT,city:TEXT,label:VARCHAR(2)",
		"n:BOOLEAN,f:DATE,city:DATETIME,label:TIME", "n:BIGINT,f:INT,city:VARCHAR(1),label:INT"}
	for i := range 60 {
		csv := randomTabularCSV(r, 1+r.IntN(60))
		p := writeCSV(t, csv)
		o := TabularOptions{LabelColumn: "label", MinLabels: 2, MaxProblems: 1 + r.IntN(30), Now: testNow}
		if s := schemas[i%len(schemas)]; s != "" {
			o.Schema = mustSchema(t, s)
		}
		var want tabularVerdict
		withAhead(aheadModes[0].batch, aheadModes[0].policy, func() { want = checkTabularVerdict(t, p, o) })
		for _, m := range aheadModes[1:] {
			var got tabularVerdict
			withAhead(m.batch, m.policy, func() { got = checkTabularVerdict(t, p, o) })
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("%s, csv %q (-one batch +%s):\n%s", m.name, csv, m.name, diff)
			}
		}
		if i == 0 && fmt.Sprint(want) == "" {
			t.Fatal("no verdict")
		}
	}
}

// TestFitBatchMatchesCellsFit holds the column-at-a-time checks to the row
// ones on random batches of every column type.
func TestFitBatchMatchesCellsFit(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	types := []string{"INT", "INTEGER", "BIGINT", "DOUBLE", "VARCHAR(3)", "TEXT", "BOOLEAN", "DATE", "DATETIME", "TIME"}
	values := []string{"", "NA", "null", "1", "-7", "300", "3.0", "2.5", "-0.028", "1e3", "abcd", "ab", "true", "False",
		"2024-01-02", "2024-01-02 10:00:00", "10:00", "99999999999", "+5", ".", "caf\xc3\xa9s"}
	for range 300 {
		cols := 1 + r.IntN(4)
		var checks []colCheck
		for range cols {
			typ := mustSchema(t, "c:"+types[r.IntN(len(types))])[0].Type
			checks = append(checks, colCheck{declared: r.IntN(5) > 0, required: r.IntN(3) == 0, typ: typ})
		}
		// The records are CSV text read into one batch: no value needs
		// quoting, and a record of the wrong width now and then.
		var text strings.Builder
		for range 1 + r.IntN(20) {
			n := cols
			if r.IntN(10) == 0 {
				n = cols + 1 - 2*r.IntN(2)
			}
			row := make([]string, n)
			for k := range row {
				row[k] = values[r.IntN(len(values))]
			}
			if n == 1 && row[0] == "" {
				row[0] = "NA" // an empty line is no record
			}
			text.WriteString(strings.Join(row, ",") + "\n")
		}
		b := &checkedBatch{Batch: csvread.NewBatch(64)}
		csvread.NewStream(strings.NewReader(text.String()), "t.csv").ReadBatch(b.Batch, 1<<20, 64)
		fitBatch(b, checks)
		for i := range b.Len() {
			rec, _, err := b.Record(i)
			if err != nil {
				continue // the end of the batch
			}
			want := cellsFit(rec, checks)
			if b.fit[i] != want {
				t.Fatalf("record %q, checks %+v: fitBatch %v, cellsFit %v", rec, checks, b.fit[i], want)
			}
		}
	}
}
