package dataset

import (
	"math/rand/v2"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/spec"
)

// shortValueCases are the edges of the one-word readers: signs, points,
// lengths 1 to 9, bytes next to the digits in ASCII.
var shortValueCases = []string{
	"", "0", "7", "-", "+", ".", "-.", "+.", "..", "5.", ".5", "-5.", "-.5", "1.2.3", "12345678", "99999999", "123456789",
	"-1234567", "-12345678", "+1234567", "00000001", "1e5", "1E5", "1e", "-0", "3.0", "3.00", "3.01", "/", ":", "1/2", "1:2",
	"12 ", " 12", "1\x002", "\xff1", "12345.78", "1234567.", ".1234567", "-0.028", "17.0591", "NaN", "NA", "+-1", "--1",
}

func TestShortReadersMatchLoops(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("0123456789.-+e/: \xff")
	cases := append([]string(nil), shortValueCases...)
	for range 200000 {
		b := make([]byte, 1+r.IntN(9))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		cases = append(cases, string(b))
	}
	for _, c := range cases {
		// Read both from the end of a larger buffer and from a buffer of
		// exactly the value's size: the word load must not depend on it.
		padded := append([]byte(c), "9999999999"...)[:len(c)]
		for _, v := range [][]byte{[]byte(c), padded} {
			if n, ok := shortWhole(v); ok {
				want, wantOK := parseWhole(v)
				if !wantOK || n != want {
					t.Fatalf("shortWhole(%q) = %d, true; parseWhole = %d, %v", c, n, want, wantOK)
				}
			}
			if ok, sure := shortNumber(v); sure && ok != isNumber(v) {
				t.Fatalf("shortNumber(%q) = %v (sure); isNumber = %v", c, ok, isNumber(v))
			}
		}
	}
	// The short forms must take the common cells, or they save nothing.
	for _, c := range []string{"55569", "-7", "5"} {
		if _, ok := shortWhole([]byte(c)); !ok {
			t.Errorf("shortWhole(%q) declined", c)
		}
	}
	for _, c := range []string{"17.0591", "-0.028", "5", "1."} {
		if ok, sure := shortNumber([]byte(c)); !ok || !sure {
			t.Errorf("shortNumber(%q) = %v, %v, want true, true", c, ok, sure)
		}
	}
}

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
