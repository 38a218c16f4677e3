package push

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/tracebloc/kubectl-tracebloc/pkg/category"
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
	p.Resultf("staged %d files (%s) at %s in namespace %s\n", r.Files, output.HumanBytes(r.Bytes), r.StagedPath, r.Namespace)
	p.Resultf("verified %d files (SHA-256); sent %d files (%s%s), reused %d, resumed %d; %.1fs\n",
		t.Verified, t.SentFiles, output.HumanBytes(t.SentBytes), onTheWire(t), t.Reused, t.Resumed, r.DurationSeconds)
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
	s := ", " + output.HumanBytes(t.WireBytes) + " on the wire"
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

// printSummary prints the one-screen summary: what is pushed, where, and the
// spec that goes with it.
func printSummary(p *output.Printer, r *Report, ds *dataset.Dataset) {
	w := p.Resultf
	if r.Error == "" && p.Quiet {
		return
	}
	task, _ := category.Lookup(ds.Task)
	w("Dataset\n")
	w("  path:        %s\n", ds.Root)
	w("  task:        %s\n", ds.Task)
	w("  files:       %d (%s), %s\n", len(ds.Files), folderSummary(task, ds), output.HumanBytes(ds.Bytes))
	if task.Family == category.FamilyImage {
		w("  images:      %s, %d×%d\n", ds.Extension, ds.Width, ds.Height)
	}
	if task.Manifest.Listed() {
		w("  rows:        %d\n", ds.Rows)
	} else {
		w("  records:     %d (one per image)\n", ds.Rows)
	}
	if ds.Skipped > 0 {
		w("  skipped:     %d records the ingestor will skip (see the warning)\n", ds.Skipped)
	}
	if len(ds.Labels) > 0 {
		w("  labels:      %s\n", countSummary(ds.Labels))
	}
	if ds.Sequences > 0 {
		w("  sequences:   %d\n", ds.Sequences)
	}
	if ds.SchemaInferred {
		w("  schema:      inferred from the first %d rows; to change a type, copy, edit and add:\n", dataset.InferRows)
		w("               %s\n", ds.SchemaFlag)
	} else if ds.SchemaFlag != "" {
		w("  schema:      %s\n", ds.SchemaFlag)
	}
	if len(ds.Classes) > 0 {
		w("  boxes:       %d, per class %s\n", ds.Objects, countSummary(ds.Classes))
	}
	if ds.Keypoints > 0 {
		w("  keypoints:   %d per row\n", ds.Keypoints)
	}
	if len(ds.Excluded) > 0 {
		parts := make([]string, len(ds.Excluded))
		for i, e := range ds.Excluded {
			parts[i] = fmt.Sprintf("%s %d (%s)", e.Pattern, e.Files, e.Source)
		}
		w("  excluded:    %s\n", strings.Join(parts, ", "))
	}
	w("Destination\n")
	w("  context:     %s\n", orNone(r.Context))
	w("  namespace:   %s\n", r.Namespace)
	w("  release:     %s (chart %s)\n", r.Release.Name, r.Release.ChartVersion)
	if r.Release.PerIngestionTables {
		w("  tables:      per-ingestion (PER_INGESTION_TABLES on): each run writes a new table ds_<hex>, named in its summary\n")
	}
	w("  volume:      %s (%s)\n", r.PVC.Name, strings.Join(r.PVC.AccessModes, ", "))
	w("  staged at:   %s\n", r.StagedPath)
	if r.JobsManager != nil {
		w("  jobs-manager: service %s, pod %s\n", r.JobsManager.Service, r.JobsManager.Pod)
	} else if r.Ingestor != nil {
		w("  jobs-manager: NOT FOUND: see the error below\n")
	}
	if r.Ingestor != nil {
		w("  ingestor:    service account %s (%s)\n", r.Ingestor.ServiceAccount, r.Ingestor.Source)
	}
	w("  permissions: %s\n", permissionLine(r.Permissions))
	w("Ingest spec\n")
	for _, line := range strings.Split(strings.TrimRight(r.Spec.YAML(), "\n"), "\n") {
		w("  %s\n", line)
	}
}

// folderSummary says what the files are: "labels.csv + 10 images/ + 10 masks/",
// "10 images/ + 10 annotations/" for a task without a manifest.
func folderSummary(task category.Task, ds *dataset.Dataset) string {
	var parts []string
	if task.Manifest.Listed() {
		parts = append(parts, dataset.LabelsFile)
	}
	if task.Primary != nil {
		parts = append(parts, fmt.Sprintf("%d %s/", ds.Images, task.Primary.Subdir))
	}
	for _, sc := range task.Sidecars {
		parts = append(parts, fmt.Sprintf("%d %s/", ds.Sidecars[sc.Subdir], sc.Subdir))
	}
	if ds.Tokenizer {
		parts = append(parts, dataset.TokenizerFile)
	}
	return strings.Join(parts, " + ")
}

// countSummary renders counts by value, most frequent first, at most five.
func countSummary(labels map[string]int) string {
	type lc struct {
		label string
		n     int
	}
	all := make([]lc, 0, len(labels))
	for l, n := range labels {
		all = append(all, lc{l, n})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].n > all[j].n || all[i].n == all[j].n && all[i].label < all[j].label })
	parts := make([]string, 0, 6)
	for i, x := range all {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("… %d more", len(all)-5))
			break
		}
		parts = append(parts, fmt.Sprintf("%s (%d)", x.label, x.n))
	}
	return fmt.Sprintf("%d values: %s", len(all), strings.Join(parts, ", "))
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func permissionLine(p string) string {
	if p == "ok" {
		return "every verb the push needs is allowed"
	}
	return "MISSING: see the error below"
}
