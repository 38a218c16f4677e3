package transfer

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset"
)

// The plan is written entry by entry; what the agent decodes must be the
// plan, and the size taken first must be what is written.
func TestPlanWireDecodesAsThePlan(t *testing.T) {
	tests := []struct {
		name  string
		rels  []string
		reuse []string
	}{
		{"empty", nil, nil},
		{"plain names", []string{"labels.csv", "images/a.jpg"}, []string{"images/a.jpg"}},
		{"names JSON must escape", []string{`images/say "cheese".jpg`, "texts/ünï.txt", "texts/a<b>&c.txt", `texts/back\slash.txt`, "texts/tab\t.txt"},
			[]string{`images/say "cheese".jpg`, "texts/ünï.txt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := proto.Plan{Expected: map[string]string{}, Reuse: tt.reuse}
			var files []dataset.File
			for _, rel := range tt.rels {
				files = append(files, dataset.File{Rel: rel})
			}
			local := NewLocal(files)
			for i, rel := range tt.rels {
				e := localEntry{sum: sha256.Sum256([]byte(rel))}
				e.sum[0] = byte(i)
				local.put(rel, e)
				want.Expected[rel] = e.sum.hex()
			}
			plan := Plan{files: files, local: local, Reuse: tt.reuse}
			size, err := plan.writeWire(io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			n, err := plan.writeWire(&buf)
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
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("decoded plan (-want +got):\n%s", diff)
			}
		})
	}
}

// A first push sends every file without a second list of them; a re-push
// sends exactly the files whose content the volume lacks, in order.
func TestMakePlan(t *testing.T) {
	files := []dataset.File{{Rel: "a", Size: 1}, {Rel: "b", Size: 2}, {Rel: "c", Size: 4}, {Rel: "d", Size: 8}}
	local := NewLocal(files)
	for _, f := range files {
		local.put(f.Rel, localEntry{sum: sha256.Sum256([]byte(f.Rel))})
	}
	hexOf := func(rel string) string { s, _ := local.Sum(rel); return s }
	tests := []struct {
		name            string
		inv             Inventory
		send, reuse     []string
		resumed         int
		bytes           int64
		shareFirstArray bool
	}{
		{"first push", Inventory{}, []string{"a", "b", "c", "d"}, nil, 0, 15, true},
		{"first file staged", Inventory{Staged: tableOf(Sums{"a": hexOf("a")})}, []string{"b", "c", "d"}, []string{"a"}, 0, 14, false},
		{"middle resumed, one stale", Inventory{Partial: tableOf(Sums{"b": hexOf("b"), "c": hexOf("a")})}, []string{"a", "c", "d"}, nil, 1, 13, false},
		{"last staged", Inventory{Staged: tableOf(Sums{"d": hexOf("d")})}, []string{"a", "b", "c"}, []string{"d"}, 0, 7, false},
		{"nothing to send", Inventory{Staged: tableOf(Sums{"a": hexOf("a"), "b": hexOf("b"), "c": hexOf("c"), "d": hexOf("d")})}, nil, []string{"a", "b", "c", "d"}, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := MakePlan(files, local, tt.inv)
			var send []string
			for _, f := range p.Send {
				send = append(send, f.Rel)
			}
			if diff := cmp.Diff(tt.send, send); diff != "" {
				t.Errorf("send (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.reuse, p.Reuse); diff != "" {
				t.Errorf("reuse (-want +got):\n%s", diff)
			}
			if p.Resumed != tt.resumed || p.SendBytes != tt.bytes {
				t.Errorf("resumed %d, bytes %d; want %d, %d", p.Resumed, p.SendBytes, tt.resumed, tt.bytes)
			}
			if shared := len(p.Send) > 0 && &p.Send[0] == &files[0]; shared != tt.shareFirstArray {
				t.Errorf("Send shares the files' array: %v, want %v", shared, tt.shareFirstArray)
			}
		})
	}
}
