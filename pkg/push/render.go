package push

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset"
	"github.com/tracebloc/kubectl-tracebloc/pkg/output"
	"github.com/tracebloc/kubectl-tracebloc/pkg/transfer"
)

// CompressAuto is the default --compress mode: compress when a sample of the data shrinks.
const CompressAuto = transfer.CompressAuto

// ValidCompress reports whether mode is a --compress value.
func ValidCompress(mode string) bool { return transfer.ValidCompress(mode) }

// ParseBandwidth reads a --bwlimit rate (20M, 512Ki, 100Mbit) as bytes a second.
func ParseBandwidth(s string) (int64, error) { return transfer.ParseBandwidth(s) }

// PrintDone prints the outcome of a push that succeeded, as text.
func PrintDone(p *output.Printer, r *Report) {
	if r.Status == StatusDryRun {
		p.Resultf("dry run: every check passed; nothing was staged\n")
		return
	}
	t := r.Transfer
	p.Resultf("staged %d files (%s) at %s in namespace %s\n", r.Files, dataset.HumanBytes(r.Bytes), r.StagedPath, r.Namespace)
	p.Resultf("verified %d files (SHA-256); sent %d files (%s%s), reused %d, resumed %d; %.1fs\n",
		t.Verified, t.SentFiles, dataset.HumanBytes(t.SentBytes), onTheWire(t), t.Reused, t.Resumed, r.DurationSeconds)
	printRun(p, r)
}

// onTheWire says, for a compressed stream, what went on the wire and which
// codecs carried the data: ", 73.2 MiB on the wire: zstd 96 %, s2 4 %".
// The shares are of the stream the codecs carried (tar headers included),
// not of the files' bytes, so they add up to 100 % however small the files.
func onTheWire(t *transfer.Result) string {
	if !t.Compressed {
		return ""
	}
	names := make([]string, 0, len(t.Codecs))
	var total int64
	for c, n := range t.Codecs {
		names = append(names, c)
		total += n
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := t.Codecs[names[i]], t.Codecs[names[j]]
		return a > b || a == b && names[i] < names[j]
	})
	var parts []string
	for _, c := range names {
		if pct := math.Round(100 * float64(t.Codecs[c]) / float64(total)); pct >= 1 {
			parts = append(parts, fmt.Sprintf("%s %.0f %%", c, pct))
		}
	}
	s := ", " + dataset.HumanBytes(t.WireBytes) + " on the wire"
	if len(parts) > 0 {
		s += ": " + strings.Join(parts, ", ")
	}
	return s
}

func printRun(p *output.Printer, r *Report) {
	run := r.Run
	if run == nil {
		return
	}
	p.Resultf("ingestion run: job %s in namespace %s, key %s\n", run.Job, run.Namespace, run.Key)
	if r.Status == StatusSubmitted {
		p.Resultf("submitted; follow it with: kubectl tracebloc logs %s -n %s -f\n", run.Job, run.Namespace)
		return
	}
	if s := run.Summary; s != nil {
		p.Resultf("%s\n", s.Line(r.Table))
	}
	if r.StagedRemoved {
		p.Resultf("removed the staged copy %s\n", r.StagedPath)
	} else {
		p.Resultf("kept the staged copy %s\n", r.StagedPath)
	}
}
