package dataset

import (
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
