package dataset

import (
	"strings"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/spec"
)

func TestValidValueIntRange(t *testing.T) {
	tiny := &spec.ColumnType{Kind: spec.KindInt, Min: -128, Max: 127}
	tests := []struct {
		v    string
		want bool
	}{
		{"127", true}, {"128", false}, {"-128", true}, {"-129", false}, {"+5", true}, {"3.0", true}, {"3.5", false},
		{"99999999", false}, {"", false}, {"x", false},
	}
	for _, tt := range tests {
		if got := validValue([]byte(tt.v), tiny); got != tt.want {
			t.Errorf("validValue(%q, TINYINT) = %v, want %v", tt.v, got, tt.want)
		}
	}
}

// TestNumbersAsPandasReadsThem: what pandas reads as a finite number
// (issue 22: blanks around it are fine; 1e400 is infinity and an integer
// past 64 bits fails to_numeric, both refused by the ingestor).
func TestNumbersAsPandasReadsThem(t *testing.T) {
	tests := []struct {
		v              string
		number, infers bool
		whole          bool
		wholeV         int64
	}{
		{" 12 ", true, true, true, 12}, {"12 ", true, true, true, 12}, {"\t-3", true, true, true, -3},
		{"1e400", false, true, false, 0}, {"-1e400", false, true, false, 0}, {"1.5e-300", true, true, false, 0},
		{"99999999999999999999", false, true, false, 0}, {"18446744073709551615", true, true, false, 0},
		{"9223372036854775807", true, true, true, 9223372036854775807}, {"-9223372036854775809", false, true, false, 0},
		{"1_000", false, false, false, 0}, {"0x1F", false, false, false, 0}, {"inf", false, false, false, 0}, {"", false, false, false, 0},
	}
	for _, tt := range tests {
		if got := isNumber([]byte(tt.v)); got != tt.number {
			t.Errorf("isNumber(%q) = %v, want %v", tt.v, got, tt.number)
		}
		if ok, _, _ := numericShape(trimBlanks([]byte(tt.v))); ok != tt.infers {
			t.Errorf("numericShape(%q) = %v, want %v", tt.v, ok, tt.infers)
		}
		if n, ok := parseWhole([]byte(tt.v)); ok != tt.whole || ok && n != tt.wholeV {
			t.Errorf("parseWhole(%q) = %d, %v, want %d, %v", tt.v, n, ok, tt.wholeV, tt.whole)
		}
	}
}

// TestBooleansTheIngestorTakes: its DataValidator and its BOOLEAN cast.
func TestBooleansTheIngestorTakes(t *testing.T) {
	for _, v := range []string{"yes", "No", "Y", "n", "t", "F", "TRUE", "false", " yes ", "0", "1", "1.0"} {
		if !isBool([]byte(v)) {
			t.Errorf("isBool(%q) = false, want true", v)
		}
	}
	for _, v := range []string{"on", "off", "2", "yess", "", "truee", "-1"} {
		if isBool([]byte(v)) {
			t.Errorf("isBool(%q) = true, want false", v)
		}
	}
}

// TestDateShapes: two values have one shape when one strptime format
// reads both (pandas takes the first value's for the column).
func TestDateShapes(t *testing.T) {
	same := [][2]string{{"2024-01-05", "2024-12-31"}, {"2024-01-05 10:00:00", "2024-02-05 11:30:59"},
		{"2024-01-05T10:00:00Z", "2024-01-06T10:00:00+02:00"}, {"2024/01/05", "2024/02/06"}}
	differ := [][2]string{{"2024-01-05", "2024/01/06"}, {"2024-01-05", "2024-01-06 10:00:00"}, {"2024-01-05 10:00", "2024-01-05 10:00:00"},
		{"2024-01-05 10:00:00", "2024-01-05T10:00:00"}, {"2024-01-05 10:00:00", "2024-01-05 10:00:00.5"}, {"2024-01-05 10:00:00", "2024-01-05 10:00:00Z"}}
	shape := func(v string) dateShape {
		sh, ok := shapeOf([]byte(v), spec.KindDateTime)
		if !ok {
			t.Fatalf("shapeOf(%q): not a date and time", v)
		}
		return sh
	}
	for _, p := range same {
		if shape(p[0]) != shape(p[1]) {
			t.Errorf("%q and %q: two shapes, want one", p[0], p[1])
		}
	}
	for _, p := range differ {
		if shape(p[0]) == shape(p[1]) {
			t.Errorf("%q and %q: one shape, want two", p[0], p[1])
		}
	}
	ta, _ := shapeOf([]byte("10:00"), spec.KindTime)
	tb, _ := shapeOf([]byte("10:00:00"), spec.KindTime)
	if ta == tb {
		t.Error("10:00 and 10:00:00: one shape, want two")
	}
}

// TestRowSize: the bytes MySQL counts for a row (the oracle's emulation of
// error 1118: 65 535 at most).
func TestRowSize(t *testing.T) {
	for typ, want := range map[string]int{"VARCHAR(255)": 1022, "VARCHAR(63)": 253, "CHAR(2)": 9, "TEXT": 12, "INT": 4, "BIGINT": 8,
		"DOUBLE": 8, "BOOLEAN": 1, "DATETIME": 5, "TIMESTAMP": 4, "DECIMAL(10,2)": 16} {
		if got := columnBytes(typ); got != want {
			t.Errorf("columnBytes(%s) = %d, want %d", typ, got, want)
		}
	}
	wide := mustSchema(t, "city:VARCHAR(16000),f2:VARCHAR(2000),label:VARCHAR(255)")
	if msg, over := rowSizeProblem(wide, "label"); !over || !strings.Contains(msg, "76569 bytes") || !strings.Contains(msg, `"city"`) {
		t.Errorf("VARCHAR(16000) and VARCHAR(2000): %q, %v; want a refusal naming 76569 bytes and city", msg, over)
	}
	if msg, over := rowSizeProblem(mustSchema(t, "a:INT,b:VARCHAR(255),label:VARCHAR(255)"), "label"); over {
		t.Errorf("a narrow table refused: %s", msg)
	}
}

// TestDateTakesATime: a DATE column may hold a date and time (review3:
// the ingestor reads DATE with pd.to_datetime as it reads DATETIME, and
// MySQL keeps the date part); what is no date stays refused.
func TestDateTakesATime(t *testing.T) {
	date := &spec.ColumnType{Kind: spec.KindDate}
	for _, v := range []string{"2024-01-05", "2024-01-05 10:00:00", "2024-01-05T10:00:00+02:00", "2024-01-05T10:00:00Z", "2024-01-05 10:00:00.5"} {
		if !validValue([]byte(v), date) {
			t.Errorf("validValue(%q, DATE) = false, want true", v)
		}
		if _, ok := shapeOf([]byte(v), spec.KindDate); !ok {
			t.Errorf("shapeOf(%q, DATE): not a date, want one", v)
		}
	}
	for _, v := range []string{"2024-13-05", "2024-01-05 25:00", "x", "2024-01-05T"} {
		if validValue([]byte(v), date) {
			t.Errorf("validValue(%q, DATE) = true, want false", v)
		}
	}
}

// TestWholeNumbersInOtherShapes: the ingestor's INT validator asks only
// that pd.to_numeric(v) be whole (review3: 1e5 was refused).
func TestWholeNumbersInOtherShapes(t *testing.T) {
	col := &spec.ColumnType{Kind: spec.KindInt, Min: -1 << 31, Max: 1<<31 - 1}
	cases := []struct {
		v    string
		want bool
	}{{"1e5", true}, {"1.5e1", true}, {"100e-2", true}, {" -2E3 ", true}, {"1.5e0", false},
		{"1e10", false}, {"1e400", false}, {"0x10", false}, {"1_000", false}, {"inf", false}, {"e5", false}}
	for _, c := range cases {
		v, want := c.v, c.want
		if got := validValue([]byte(v), col); got != want {
			t.Errorf("validValue(%q, INT) = %v, want %v", v, got, want)
		}
	}
	if n, ok := parseWhole([]byte("1.5e1")); !ok || n != 15 {
		t.Errorf("parseWhole(1.5e1) = %d, %v, want 15, true", n, ok)
	}
}
