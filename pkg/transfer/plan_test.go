package transfer

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
)

// The plan is written entry by entry; what the agent decodes must be the
// plan, and the size taken first must be what is written.
func TestPlanWireDecodesAsThePlan(t *testing.T) {
	sum := "4f6b0a5c9d1e2f30415263748596a7b8c9d0e1f2031425364758697a8b9c0d1e"
	tests := []struct {
		name string
		plan Plan
	}{
		{"empty", Plan{Expected: Sums{}}},
		{"plain names", Plan{Expected: Sums{"labels.csv": sum, "images/a.jpg": sum}, Reuse: []string{"images/a.jpg"}}},
		{"names JSON must escape", Plan{Expected: Sums{`images/say "cheese".jpg`: sum, "texts/ünï.txt": sum, "texts/a<b>&c.txt": sum, `texts/back\slash.txt`: sum, "texts/tab\t.txt": sum},
			Reuse: []string{`images/say "cheese".jpg`, "texts/ünï.txt"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			size, err := tt.plan.writeWire(io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			n, err := tt.plan.writeWire(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if n != size || int64(buf.Len()) != size {
				t.Fatalf("sized %d, wrote %d (%d in the buffer)", size, n, buf.Len())
			}
			var got proto.Plan
			if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
				t.Fatalf("%v in %s", err, buf.String())
			}
			want := proto.Plan{Expected: tt.plan.Expected, Reuse: tt.plan.Reuse}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("decoded plan (-want +got):\n%s", diff)
			}
		})
	}
}
