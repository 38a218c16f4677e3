// Package status reports what a namespace holds for tracebloc: the client
// release, its shared volume, the staged tables and any leftovers.
package status

import (
	"context"
	"sort"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/tracebloc/kubectl-tracebloc/pkg/cluster"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/leftover"
	"github.com/tracebloc/kubectl-tracebloc/pkg/lock"
	"github.com/tracebloc/kubectl-tracebloc/pkg/podexec"
	"github.com/tracebloc/kubectl-tracebloc/pkg/stagepod"
)

// Table is one staged table.
type Table struct {
	Name string `json:"table"`
	// Task is the task of the push that staged the copy, from the table's
	// Lease record; empty when no record says.
	Task     string    `json:"task,omitempty"`
	Files    int       `json:"files"`
	Bytes    int64     `json:"bytes"`
	StagedAt time.Time `json:"staged_at"`
}

// SchemaVersion is the version of the -o json object of status
// (schema/status.json): it changes only by additions.
const SchemaVersion = 1

// Report is the status of a namespace; -o json prints it.
type Report struct {
	Namespace string           `json:"namespace"`
	Release   *cluster.Release `json:"release,omitempty"`
	PVC       *cluster.Volume  `json:"pvc,omitempty"`
	Tables    []Table          `json:"tables"`
	Leftovers []leftover.Item  `json:"leftovers"`
	Error     string           `json:"error,omitempty"`
	ExitCode  int              `json:"exit_code"`
	// SchemaVersion is always SchemaVersion.
	SchemaVersion int `json:"schema_version"`
}

// NewReport is the report of namespace before anything was read: every
// array empty.
func NewReport(namespace string) *Report {
	return &Report{Namespace: namespace, Tables: []Table{}, Leftovers: []leftover.Item{}, SchemaVersion: SchemaVersion}
}

// Run gathers the status. It reads the volume through a helper Pod.
func Run(ctx context.Context, o stagepod.HelperOptions) (*Report, error) {
	r := NewReport(o.Namespace)
	err := run(ctx, o, r)
	if err != nil {
		r.Error, r.ExitCode = err.Error(), exitcode.Of(err)
	}
	return r, err
}

func run(ctx context.Context, o stagepod.HelperOptions, r *Report) error {
	target, err := cluster.Discover(ctx, o.Client, o.Namespace)
	if err != nil {
		return err
	}
	r.Release, r.PVC = &target.Release, &target.Volume
	items, live, err := leftover.FindObjects(ctx, o.Client, o.Namespace, time.Now())
	if err != nil {
		return err
	}
	r.Leftovers = append(r.Leftovers, items...)
	o.PVC, o.ReadWriteOnce, o.Purpose = target.Volume.Name, target.Volume.ReadWriteOnce(), "read the staging folder"
	return stagepod.WithHelperPod(ctx, o, func(_ string, agent *podexec.RemoteAgent) error {
		listing, err := agent.List(ctx)
		if err != nil {
			return err
		}
		r.Leftovers = append(r.Leftovers, leftover.Folders(listing.Leftovers, live)...)
		records, _ := lock.StagedTables(ctx, o.Client, o.Namespace)
		for _, t := range listing.Tables {
			r.Tables = append(r.Tables, Table{Name: t.Name, Task: records[t.Name].Task, Files: t.Files, Bytes: t.Bytes, StagedAt: time.Unix(t.Modified, 0).UTC()})
		}
		sort.Slice(r.Tables, func(i, j int) bool { return r.Tables[i].Name < r.Tables[j].Name })
		return nil
	})
}

// StagedTables lists the tables whose Lease records a staged copy, by name:
// one list call, without mounting the volume (shell completion of --table).
func StagedTables(ctx context.Context, client kubernetes.Interface, namespace string) (map[string]lock.Staged, error) {
	return lock.StagedTables(ctx, client, namespace)
}
