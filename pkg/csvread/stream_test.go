package csvread

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

type streamRecord struct {
	Line   int
	Fields []string
}

// readAll reads every record, keeping going past problems that spoil one
// record only, as the checks do.
func readAll(s *Stream) ([]streamRecord, []string) {
	var recs []streamRecord
	var probs []string
	for {
		fields, err := s.Read()
		if errors.Is(err, io.EOF) {
			return recs, probs
		}
		if err != nil {
			probs = append(probs, err.Error())
			var ce *Error
			if errors.As(err, &ce) && !ce.Fatal {
				continue
			}
			return recs, probs
		}
		r := streamRecord{Line: s.Line()}
		for _, f := range fields {
			r.Fields = append(r.Fields, string(f))
		}
		recs = append(recs, r)
	}
}

func TestCSVStream(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		want      []streamRecord
		wantProbs []string
	}{
		{name: "plain", in: "a,b\n1,2\n", want: []streamRecord{{1, []string{"a", "b"}}, {2, []string{"1", "2"}}}},
		{name: "no final newline", in: "a,b\n1,2", want: []streamRecord{{1, []string{"a", "b"}}, {2, []string{"1", "2"}}}},
		{name: "crlf", in: "a,b\r\n1,2\r\n", want: []streamRecord{{1, []string{"a", "b"}}, {2, []string{"1", "2"}}}},
		{name: "empty lines skipped, lines kept", in: "a\n\n\r\nx\n\n", want: []streamRecord{{1, []string{"a"}}, {4, []string{"x"}}}},
		{name: "empty fields", in: ",\n,,x\n", want: []streamRecord{{1, []string{"", ""}}, {2, []string{"", "", "x"}}}},
		{name: "quoted comma and quote", in: "\"a,b\",\"say \"\"hi\"\"\"\n", want: []streamRecord{{1, []string{"a,b", `say "hi"`}}}},
		{name: "quoted newline spans lines", in: "h\n\"x\ny\",z\nlast\n", want: []streamRecord{{1, []string{"h"}}, {2, []string{"x\ny", "z"}}, {4, []string{"last"}}}},
		{name: "quoted at eof", in: "\"a\"", want: []streamRecord{{1, []string{"a"}}}},
		{name: "bom skipped", in: "\xef\xbb\xbfa\n1\n", want: []streamRecord{{1, []string{"a"}}, {2, []string{"1"}}}},
		// pandas keeps a quote inside an unquoted field (issue 22)
		{name: "bare quote", in: "a\nx\"y\n", want: []streamRecord{{1, []string{"a"}}, {2, []string{`x"y`}}}},
		// pandas joins text after a closing quote to the field, its first
		// character as it is (a \ too), the rest with the escapes.
		{name: "text after closing quote", in: "a\n\"x\"y\n\"p,q\" r,s\n", want: []streamRecord{{1, []string{"a"}}, {2, []string{"xy"}}, {3, []string{"p,q r", "s"}}}},
		{name: "backslash after closing quote", in: "a,b\n\"x\"\\,2\n\"x\"y\\,z,2\n", want: []streamRecord{{1, []string{"a", "b"}}, {2, []string{`x\`, "2"}}, {3, []string{"xy,z", "2"}}}},
		// pandas skips a line of spaces and tabs as a blank one.
		{name: "white space lines skipped", in: "a,b\n  \n\t \r\n  1,2\n \t", want: []streamRecord{{1, []string{"a", "b"}}, {4, []string{"  1", "2"}}}},
		{name: "unclosed quote", in: "a\nb\n\"x,\ny\n", want: []streamRecord{{1, []string{"a"}}, {2, []string{"b"}}},
			wantProbs: []string{`t.csv line 3 opens a quoted field that is never closed: check the " characters from that line on`}},
		{name: "not utf-8 spoils one record", in: "a\n\xff\nok\n", want: []streamRecord{{1, []string{"a"}}, {3, []string{"ok"}}},
			wantProbs: []string{"t.csv line 2 is not valid UTF-8: save the file as CSV UTF-8"}},
		{name: "bad byte on the second line of a quoted record", in: "\"a\nb\xfe\"\n", want: nil,
			wantProbs: []string{"t.csv line 2 is not valid UTF-8: save the file as CSV UTF-8"}},
		{name: "nul ends the read", in: "a\nb\x00\nc\n", want: []streamRecord{{1, []string{"a"}}},
			wantProbs: []string{"t.csv line 2 holds a NUL byte: this looks like a UTF-16 or binary file; save it as CSV UTF-8"}},
		{name: "quoted field in place, then more", in: "\"Rome, IT\",yes\r\n\"x\"\n1,\"\"\n", want: []streamRecord{{1, []string{"Rome, IT", "yes"}}, {2, []string{"x"}}, {3, []string{"1", ""}}}},
		{name: "quoted utf-8 checked", in: "\"caf\xc3\xa9\",\"\xff\"\nok\n", want: []streamRecord{{2, []string{"ok"}}},
			wantProbs: []string{"t.csv line 1 is not valid UTF-8: save the file as CSV UTF-8"}},
		{name: "escaped comma", in: `a\,b,c` + "\n", want: []streamRecord{{1, []string{"a,b", "c"}}}},
		{name: "escaped quote outside quotes", in: `\"a\",b` + "\n", want: []streamRecord{{1, []string{`"a"`, "b"}}}},
		{name: "escaped quote inside quotes", in: `"say \"hi\", ok",b` + "\n", want: []streamRecord{{1, []string{`say "hi", ok`, "b"}}}},
		{name: "escaped backslash", in: `a\\,"b\\"` + "\n" + `c\\` + "\n", want: []streamRecord{{1, []string{`a\`, `b\`}}, {2, []string{`c\`}}}},
		{name: "backslash drops itself before a plain letter", in: `C:\temp` + "\n", want: []streamRecord{{1, []string{"C:temp"}}}},
		{name: "escaped newline continues the record", in: "a\\\nb,c\nd\n", want: []streamRecord{{1, []string{"a\nb", "c"}}, {3, []string{"d"}}}},
		{name: "escaped newline in quotes", in: "\"a\\\nb\"\nd\n", want: []streamRecord{{1, []string{"a\nb"}}, {3, []string{"d"}}}},
		{name: "escaped carriage return is kept", in: "a\\\r\nb\r\n", want: []streamRecord{{1, []string{"a\r"}}, {2, []string{"b"}}}},
		{name: "escape then quote-doubling", in: `"a\""""` + "\n", want: []streamRecord{{1, []string{`a""`}}}},
		{name: "escaped quote does not open a quoted field", in: `\"a,b\"` + "\n", want: []streamRecord{{1, []string{`"a`, `b"`}}}},
		{name: "backslash at end of file", in: "a\nb\\", want: []streamRecord{{1, []string{"a"}}},
			wantProbs: []string{`t.csv line 2 ends the file with a \ (the escape character), which escapes nothing: the ingestor's CSV reader fails on it; remove it, or write \\ for a backslash`}},
		{name: "backslash at end of file in quotes", in: "a\n\"b\\", want: []streamRecord{{1, []string{"a"}}},
			wantProbs: []string{`t.csv line 2 opens a quoted field that is never closed: check the " characters from that line on`}},
		{name: "escaped closing quote leaves the field open", in: "\"a\\\"\nb\n", want: nil,
			wantProbs: []string{`t.csv line 1 opens a quoted field that is never closed: check the " characters from that line on`}},
	}
	for _, tt := range tests {
		// Every case also runs through a tiny buffer read a byte at a time,
		// so that records cross every possible buffer boundary.
		// And through the slow path alone, which the fast one must match.
		for _, mode := range []string{"", "/small buffer", "/slow path"} {
			t.Run(tt.name+mode, func(t *testing.T) {
				var s *Stream
				if mode == "/small buffer" {
					s = newStreamSize(iotest.OneByteReader(strings.NewReader(tt.in)), "t.csv", 4, 1<<20)
				} else {
					s = NewStream(strings.NewReader(tt.in), "t.csv")
				}
				s.forceSlow = mode == "/slow path"
				got, probs := readAll(s)
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("records (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tt.wantProbs, probs); diff != "" {
					t.Errorf("problems (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestCSVStreamBOMAndLongRecord(t *testing.T) {
	s := NewStream(strings.NewReader("\xef\xbb\xbfa\n"), "t.csv")
	if _, err := s.Read(); err != nil {
		t.Fatal(err)
	}
	if !s.BOM {
		t.Error("BOM not reported")
	}
	s = newStreamSize(strings.NewReader("\""+strings.Repeat("x", 100)), "t.csv", 8, 32)
	_, probs := readAll(s)
	if len(probs) != 1 || !strings.Contains(probs[0], "line 1 starts a record longer than 32 B") {
		t.Errorf("problems = %q, want the long record named", probs)
	}
}

// FuzzCSVStreamFastMatchesSlow holds the fast path (records split in place)
// to the slow one (every record unescaped byte by byte) on any input, read
// whole or through a small buffer: same records, lines and problems.
func FuzzCSVStreamFastMatchesSlow(f *testing.F) {
	for _, s := range []string{"a,b\n1,2\n", `"a""b",c` + "\n", "x\n\n\"y\nz\"\n", `a\,b,"c\"d"` + "\n", "a\\\nb\r\n",
		"\"q\",\"r\"\r\n", "\"Rome, IT\",\xc3\xa9\n", "\"a\"b\n", "a\\", "\"\\", "\xff,\"\xfe\"\n", "a\x00\n"} {
		f.Add(s, uint8(0))
	}
	f.Fuzz(func(t *testing.T, in string, size uint8) {
		bufSize := 4 + int(size)%64
		fast := newStreamSize(strings.NewReader(in), "t.csv", bufSize, 1<<20)
		slow := newStreamSize(strings.NewReader(in), "t.csv", bufSize, 1<<20)
		slow.forceSlow = true
		gotRecs, gotProbs := readAll(fast)
		wantRecs, wantProbs := readAll(slow)
		if diff := cmp.Diff(wantRecs, gotRecs); diff != "" {
			t.Fatalf("input %q: records (-slow +fast):\n%s", in, diff)
		}
		if diff := cmp.Diff(wantProbs, gotProbs); diff != "" {
			t.Fatalf("input %q: problems (-slow +fast):\n%s", in, diff)
		}
	})
}

// TestPlainStream: the validators' reading keeps every backslash, so
// Rome\, IT is two fields there and one in the ingest loop's reading.
func TestPlainStream(t *testing.T) {
	in := "a,b\nimg,Rome\\, IT\n\"B-PER \\\nO\",x\n"
	read := func(s *Stream) [][]string {
		var out [][]string
		for {
			rec, err := s.Read()
			if err == io.EOF {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			row := []string{}
			for _, f := range rec {
				row = append(row, string(f))
			}
			out = append(out, row)
		}
	}
	esc := NewStream(strings.NewReader(in), "t.csv")
	if diff := cmp.Diff([][]string{{"a", "b"}, {"img", "Rome, IT"}, {"B-PER \nO", "x"}}, read(esc)); diff != "" {
		t.Errorf("NewStream (-want +got):\n%s", diff)
	}
	if !esc.Escaped() {
		t.Error("Escaped() = false after reading escapes")
	}
	plain := NewPlainStream(strings.NewReader(in), "t.csv")
	if diff := cmp.Diff([][]string{{"a", "b"}, {"img", `Rome\`, " IT"}, {"B-PER \\\nO", "x"}}, read(plain)); diff != "" {
		t.Errorf("NewPlainStream (-want +got):\n%s", diff)
	}
	if plain.Escaped() {
		t.Error("NewPlainStream: Escaped() = true")
	}
	clean := NewStream(strings.NewReader("a,b\n1,\"x\"\"y\"\n"), "t.csv")
	read(clean)
	if clean.Escaped() {
		t.Error("Escaped() = true for a file without a backslash")
	}
}
