package transfer

import (
	"encoding/json"
	"sort"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset"
)

// Inventory is what the volume already holds for a table.
type Inventory struct {
	// Staged is the current staged copy.
	Staged Sums
	// Partial is what an interrupted push left behind.
	Partial Sums
}

// Plan says what one apply round sends, reuses and removes.
type Plan struct {
	Send      []dataset.File
	SendBytes int64
	// Reuse are files hard-linked from the staged copy instead of sent.
	Reuse []string
	// Resumed are files already in the partial copy with the right content.
	Resumed int
	// Remove are partial-copy files that are not part of the new copy (the
	// agent drops them itself; counted for the report).
	Remove []string
	// Expected is every file of the new copy with its SHA-256.
	Expected Sums
}

// MakePlan decides, file by file, whether the volume already has the right
// content (in the partial copy, or in the staged copy to link from) or the
// file must be sent.
func MakePlan(files []dataset.File, local Sums, inv Inventory) Plan {
	p := Plan{Expected: local}
	want := make(map[string]struct{}, len(files))
	for _, f := range files {
		want[f.Rel] = struct{}{}
		sum := local[f.Rel]
		switch {
		case inv.Partial[f.Rel] == sum:
			p.Resumed++
		case inv.Staged[f.Rel] == sum:
			p.Reuse = append(p.Reuse, f.Rel)
		default:
			p.Send = append(p.Send, f)
			p.SendBytes += f.Size
		}
	}
	// Wanted files with stale content are overwritten by the stream or the
	// link; only files that are not part of the new copy are removed.
	for rel := range inv.Partial {
		if _, ok := want[rel]; !ok {
			p.Remove = append(p.Remove, rel)
		}
	}
	sort.Strings(p.Remove)
	return p
}

// wire renders the plan as the stream's first entry.
func (p Plan) wire() ([]byte, error) {
	return json.Marshal(proto.Plan{Expected: p.Expected, Reuse: p.Reuse})
}

// replan builds the plan of a second round from the hashes the Pod reported
// after a mismatch: the Pod has removed every wrong file, so whatever is not
// listed with the right hash is sent again.
func replan(files []dataset.File, local, actual Sums) Plan {
	p := Plan{Expected: local}
	for _, f := range files {
		if actual[f.Rel] == local[f.Rel] {
			p.Resumed++
			continue
		}
		p.Send = append(p.Send, f)
		p.SendBytes += f.Size
	}
	return p
}
