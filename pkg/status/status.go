// Package status reports what a namespace holds for tracebloc: the client
// release, its shared volume, the staged tables and any leftovers.
package status

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/cleanup"
	"github.com/tracebloc/kubectl-tracebloc/pkg/cluster"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/spec"
	"github.com/tracebloc/kubectl-tracebloc/pkg/transfer"
)

// Table is one staged table.
type Table struct {
	Name     string    `json:"table"`
	Files    int       `json:"files"`
	Bytes    int64     `json:"bytes"`
	StagedAt time.Time `json:"staged_at"`
}

// Report is the status of a namespace; -o json prints it.
type Report struct {
	Namespace string           `json:"namespace"`
	Release   *cluster.Release `json:"release,omitempty"`
	PVC       *cluster.Volume  `json:"pvc,omitempty"`
	Tables    []Table          `json:"tables"`
	Leftovers []cleanup.Item   `json:"leftovers"`
	Error     string           `json:"error,omitempty"`
	ExitCode  int              `json:"exit_code"`
}

// listScript prints "<table> <files> <bytes> <mtime>" for each staged table.
const listScript = `cd "$1" 2>/dev/null || exit 0
for d in *; do
  [ -d "$d" ] || continue
  n=$(find "$d" -type f | wc -l)
  b=$(find "$d" -type f -exec stat -c %s {} + | awk '{ s += $1 } END { print s + 0 }')
  echo "$d $n $b $(stat -c %Y "$d")"
done`

// Run gathers the status. It reads the volume through a helper Pod.
func Run(ctx context.Context, o cleanup.HelperOptions) (*Report, error) {
	r := &Report{Namespace: o.Namespace, Tables: []Table{}, Leftovers: []cleanup.Item{}}
	err := run(ctx, o, r)
	if err != nil {
		r.Error, r.ExitCode = err.Error(), exitcode.Of(err)
	}
	return r, err
}

func run(ctx context.Context, o cleanup.HelperOptions, r *Report) error {
	target, err := cluster.Discover(ctx, o.Client, o.Namespace)
	if err != nil {
		return err
	}
	r.Release, r.PVC = &target.Release, &target.Volume
	items, _, err := cleanup.FindObjects(ctx, o.Client, o.Namespace, time.Now())
	if err != nil {
		return err
	}
	r.Leftovers = append(r.Leftovers, items...)
	o.PVC = target.Volume.Name
	return cleanup.WithHelperPod(ctx, o, func(_ string, runner transfer.Runner) error {
		var out, errOut bytes.Buffer
		if err := runner.Run(ctx, []string{"sh", "-c", listScript, "sh", spec.StagingRoot}, nil, &out, &errOut); err != nil {
			return exitcode.Errorf(exitcode.Staging, "reading %s: %v %s", spec.StagingRoot, err, errOut.String())
		}
		tables, err := parseTables(out.String())
		r.Tables = tables
		return err
	})
}

func parseTables(out string) ([]Table, error) {
	tables := []Table{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 4 {
			return nil, fmt.Errorf("unexpected line %q from the staging folder", line)
		}
		files, err1 := strconv.Atoi(f[1])
		bytes, err2 := strconv.ParseInt(f[2], 10, 64)
		mtime, err3 := strconv.ParseInt(f[3], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("unexpected line %q from the staging folder", line)
		}
		tables = append(tables, Table{Name: f[0], Files: files, Bytes: bytes, StagedAt: time.Unix(mtime, 0).UTC()})
	}
	return tables, nil
}
