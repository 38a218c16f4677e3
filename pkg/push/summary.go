package push

import (
	"fmt"
	"sort"
	"strings"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset"
	"github.com/tracebloc/kubectl-tracebloc/pkg/output"
)

// printSummary prints the one-screen summary: what is pushed, where, and the
// spec that goes with it.
func printSummary(p *output.Printer, r *Report, ds *dataset.Dataset) {
	w := p.Resultf
	if r.Error == "" && p.Quiet {
		return
	}
	w("Dataset\n")
	w("  path:        %s\n", ds.Root)
	w("  files:       %d (labels.csv + %d images), %s\n", len(ds.Files), ds.Images, dataset.HumanBytes(ds.Bytes))
	w("  images:      %s, %d×%d\n", ds.Extension, ds.Width, ds.Height)
	w("  rows:        %d\n", ds.Rows)
	w("  labels:      %s\n", labelSummary(ds.Labels))
	w("Destination\n")
	w("  context:     %s\n", orNone(r.Context))
	w("  namespace:   %s\n", r.Namespace)
	w("  release:     %s (chart %s)\n", r.Release.Name, r.Release.ChartVersion)
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

func labelSummary(labels map[string]int) string {
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
