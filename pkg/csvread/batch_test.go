package csvread

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// readAllBatches is readAll through ReadBatch, with batches of at most
// maxBytes / maxRecords. Several batches rotate, as they do when one
// goroutine reads ahead of another: a batch is read out only once the
// next ones have been filled, so a buffer handed back too early would show
// as a changed field.
func readAllBatches(s *Stream, maxBytes, maxRecords int) ([]streamRecord, []string) {
	var recs []streamRecord
	var probs []string
	var ring [4]*Batch
	for i := range ring {
		ring[i] = NewBatch(maxRecords)
	}
	drain := func(b *Batch) {
		for i := range b.Len() {
			fields, line, err := b.Record(i)
			if err != nil {
				probs = append(probs, err.Error())
				continue
			}
			r := streamRecord{Line: line}
			for _, f := range fields {
				r.Fields = append(r.Fields, string(f))
			}
			recs = append(recs, r)
		}
	}
	var filled []*Batch
	for k := 0; ; k++ {
		b := ring[k%len(ring)]
		if len(filled) == len(ring) {
			drain(filled[0])
			filled = filled[1:]
		}
		s.ReadBatch(b, maxBytes, maxRecords)
		filled = append(filled, b)
		if b.Last() {
			break
		}
	}
	for _, b := range filled {
		drain(b)
	}
	return recs, probs
}

// checkBatchesMatchStream holds ReadBatch, with batches of every small
// size and a small stream buffer, to Read: same records, lines and
// problems, in the same order (the end of the file is no problem).
func checkBatchesMatchStream(t *testing.T, in string) {
	t.Helper()
	wantRecs, wantProbs := readAll(newStreamSize(strings.NewReader(in), "t.csv", 4, 1<<20))
	// A 4-byte buffer grows for most records (they are copied); 32 bytes
	// hold several records, which batches then share in place.
	for _, size := range []struct{ buf, bytes, records int }{{4, 1, 1}, {4, 3, 2}, {4, 16, 3}, {4, BatchBytes, BatchRecords}, {32, 1, 1}, {32, 5, 2}, {32, BatchBytes, BatchRecords}} {
		gotRecs, gotProbs := readAllBatches(newStreamSize(strings.NewReader(in), "t.csv", size.buf, 1<<20), size.bytes, size.records)
		if n := len(gotProbs); n > 0 && gotProbs[n-1] == "EOF" {
			gotProbs = gotProbs[:n-1]
			if n == 1 {
				gotProbs = nil
			}
		}
		if diff := cmp.Diff(wantRecs, gotRecs); diff != "" {
			t.Fatalf("input %q, buffer %d, batches of %d bytes / %d records: records (-Read +ReadBatch):\n%s", in, size.buf, size.bytes, size.records, diff)
		}
		if diff := cmp.Diff(wantProbs, gotProbs); diff != "" {
			t.Fatalf("input %q, buffer %d, batches of %d bytes / %d records: problems (-Read +ReadBatch):\n%s", in, size.buf, size.bytes, size.records, diff)
		}
	}
}

func TestBatchesMatchStream(t *testing.T) {
	tests := []struct{ name, in string }{
		{"plain", "a,b\n1,2\n3,4\n5,6"},
		{"many short records", strings.Repeat("ab,cd\n1,2\nxy,z\n", 20)},
		{"quoted newline across batches", "h,x\n1,\"a\nb\nc\"\n2,\"d,\ne\"\n3,z\n"},
		{"escapes and empty lines", "a\\,b,c\n\n\r\n\"q\\\"\",\"\"\"\"\nx\\\ny,z\r\n"},
		{"spoiled records in the middle", "a\n\xff\nb\n\"\xfe\"\nc\n"},
		{"fatal problem ends the batches", "a\nb\nx\"y\nc\n"},
		{"nul ends the batches", "a\nb\x00\nc\n"},
		{"unclosed quote", "a\n\"b\nc\n"},
		{"one long record", "h\n" + strings.Repeat("x", 5000) + ",\"" + strings.Repeat("y\n", 300) + "\"\nz\n"},
		{"empty", ""},
		{"white space lines", "a,b\n1,2\n   \n\t\n  3,4\n \t\r\n5,6\n  "},
		{"text after a closing quote", "a,b\n\"x\"y,2\n\"x\"\\,2\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkBatchesMatchStream(t, tt.in) })
	}
}

func FuzzBatchesMatchStream(f *testing.F) {
	for _, s := range []string{"a,b\n1,2\n", "x\n\n\"y\nz\"\n", `a\,b,"c\"d"` + "\n", "\"q\",\"r\"\r\n", "\xff\na\n", "a\"b\n", "\"open\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) { checkBatchesMatchStream(t, in) })
}
