package dataset

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tracebloc/kubectl-tracebloc/pkg/csvread"
)

type streamRecord struct {
	Line   int
	Fields []string
}

// readAllRows reads every record, keeping going past problems that spoil
// one record only, as the checks do.
func readAllRows(r recordReader) ([]streamRecord, []string) {
	var recs []streamRecord
	var probs []string
	for {
		fields, err := r.Read()
		if errors.Is(err, io.EOF) {
			return recs, probs
		}
		if err != nil {
			probs = append(probs, err.Error())
			var ce *csvread.Error
			if errors.As(err, &ce) && !ce.Fatal {
				continue
			}
			return recs, probs
		}
		rec := streamRecord{Line: r.Line()}
		for _, f := range fields {
			rec.Fields = append(rec.Fields, string(f))
		}
		recs = append(recs, rec)
	}
}

// checkRowsMatchStream holds csvRows, with batches of every small size,
// to the stream read directly: same records, lines and problems, in the
// same order. (csvread holds its batches to its stream through small
// buffers; this is the goroutine and the hand-over.)
func checkRowsMatchStream(t *testing.T, in string) {
	t.Helper()
	wantRecs, wantProbs := readAllRows(csvread.NewStream(strings.NewReader(in), "t.csv"))
	for _, size := range []struct{ bytes, records int }{{1, 1}, {3, 2}, {16, 3}, {csvread.BatchBytes, csvread.BatchRecords}} {
		s := csvread.NewStream(strings.NewReader(in), "t.csv")
		rows := readAheadSize(s, size.bytes, size.records, nil)
		gotRecs, gotProbs := readAllRows(rows)
		rows.Close()
		if diff := cmp.Diff(wantRecs, gotRecs); diff != "" {
			t.Fatalf("input %q, batches of %d bytes / %d records: records (-stream +rows):\n%s", in, size.bytes, size.records, diff)
		}
		if diff := cmp.Diff(wantProbs, gotProbs); diff != "" {
			t.Fatalf("input %q, batches of %d bytes / %d records: problems (-stream +rows):\n%s", in, size.bytes, size.records, diff)
		}
	}
}

func TestCSVRowsMatchStream(t *testing.T) {
	tests := []struct{ name, in string }{
		{"plain", "a,b\n1,2\n3,4\n5,6"},
		{"quoted newline across batches", "h,x\n1,\"a\nb\nc\"\n2,\"d,\ne\"\n3,z\n"},
		{"escapes and empty lines", "a\\,b,c\n\n\r\n\"q\\\"\",\"\"\"\"\nx\\\ny,z\r\n"},
		{"spoiled records in the middle", "a\n\xff\nb\n\"\xfe\"\nc\n"},
		{"fatal problem ends the rows", "a\nb\nx\"y\nc\n"},
		{"nul ends the rows", "a\nb\x00\nc\n"},
		{"unclosed quote", "a\n\"b\nc\n"},
		{"one long record", "h\n" + strings.Repeat("x", 5000) + ",\"" + strings.Repeat("y\n", 300) + "\"\nz\n"},
		{"empty", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkRowsMatchStream(t, tt.in) })
	}
}

// TestCSVRowsCloseEarly: a reader that stops before the end of the file
// stops the reading goroutine (the race detector and a leak would show).
func TestCSVRowsCloseEarly(t *testing.T) {
	in := strings.Repeat("a,b,c\n", 100000)
	rows := readAheadSize(csvread.NewStream(strings.NewReader(in), "t.csv"), 64, 4, nil)
	rec, err := rows.Read()
	if err != nil || len(rec) != 3 || rows.Line() != 1 {
		t.Fatalf("first record %q, line %d, %v", rec, rows.Line(), err)
	}
	rows.Close()
	rows.Close()
}

func FuzzCSVRowsMatchStream(f *testing.F) {
	for _, s := range []string{"a,b\n1,2\n", "x\n\n\"y\nz\"\n", `a\,b,"c\"d"` + "\n", "\"q\",\"r\"\r\n", "\xff\na\n", "a\"b\n", "\"open\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) { checkRowsMatchStream(t, in) })
}
