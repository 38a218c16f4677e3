package transfer

import (
	"bufio"
	"fmt"
	"sort"
	"strings"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset"
)

// Inventory is what the volume already holds for a table.
type Inventory struct {
	// Staged is the current staged copy.
	Staged Sums
	// Partial is what an interrupted push left behind.
	Partial Sums
}

// ParseInventory reads the inventory script's output.
func ParseInventory(out string) (Inventory, error) {
	inv := Inventory{Staged: Sums{}, Partial: Sums{}}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		tag, rest, ok := strings.Cut(line, " ")
		if !ok {
			return inv, fmt.Errorf("unexpected inventory line %q", line)
		}
		rel, sum, err := parseSumLine(rest)
		if err != nil {
			return inv, err
		}
		switch tag {
		case "S":
			inv.Staged[rel] = sum
		case "P":
			inv.Partial[rel] = sum
		default:
			return inv, fmt.Errorf("unexpected inventory line %q", line)
		}
	}
	return inv, sc.Err()
}

// parseSumLine reads a sha256sum line "<hex>  ./<rel>".
func parseSumLine(line string) (rel, sum string, err error) {
	sum, name, ok := strings.Cut(line, "  ")
	if !ok || len(sum) != 64 || !strings.HasPrefix(name, "./") {
		return "", "", fmt.Errorf("unexpected checksum line %q", line)
	}
	return strings.TrimPrefix(name, "./"), sum, nil
}

// Plan says what one apply round sends, reuses and removes.
type Plan struct {
	Send      []dataset.File
	SendBytes int64
	// Reuse are files hard-linked from the staged copy instead of sent.
	Reuse []string
	// Resumed are files already in the partial copy with the right content.
	Resumed int
	// Remove are partial-copy files that are not part of the new copy.
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

// entries renders the plan as the files that open the stream.
func (p Plan) entries() []entry {
	rels := make([]string, 0, len(p.Expected))
	for rel := range p.Expected {
		rels = append(rels, rel)
	}
	sort.Strings(rels)
	var expected strings.Builder
	for _, rel := range rels {
		fmt.Fprintf(&expected, "%s  ./%s\n", p.Expected[rel], rel)
	}
	return []entry{
		{name: "plan/remove", data: lines(p.Remove)},
		{name: "plan/reuse", data: lines(p.Reuse)},
		{name: "plan/expected", data: []byte(expected.String())},
	}
}

func lines(ss []string) []byte {
	if len(ss) == 0 {
		return nil
	}
	return []byte(strings.Join(ss, "\n") + "\n")
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
