// Package cleanup removes what interrupted pushes left on the cluster: stage
// Pods, expired Leases and staging folders (found by pkg/leftover).
package cleanup

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/cluster"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/leftover"
	"github.com/tracebloc/kubectl-tracebloc/pkg/lock"
	"github.com/tracebloc/kubectl-tracebloc/pkg/podexec"
	"github.com/tracebloc/kubectl-tracebloc/pkg/spec"
	"github.com/tracebloc/kubectl-tracebloc/pkg/stagepod"
)

// Options describe one cleanup.
type Options struct {
	// HelperOptions are the helper Pod's; Run sets its volume and purpose.
	stagepod.HelperOptions
	DryRun bool
}

// SchemaVersion is the version of the -o json object of cleanup
// (schema/cleanup.json): it changes only by additions.
const SchemaVersion = 1

// Report is what cleanup found and did; -o json prints it.
type Report struct {
	// Status is "clean", "found" (a dry run), "removed" or "failed".
	Status    string          `json:"status"`
	Namespace string          `json:"namespace"`
	Found     []leftover.Item `json:"found"`
	Removed   bool            `json:"removed"`
	Error     string          `json:"error,omitempty"`
	ExitCode  int             `json:"exit_code"`
	// SchemaVersion is always SchemaVersion.
	SchemaVersion int `json:"schema_version"`
}

// NewReport is the report of a cleanup of namespace that has found
// nothing yet (status "failed" until it ends).
func NewReport(namespace string) *Report {
	return &Report{Status: "failed", Namespace: namespace, Found: []leftover.Item{}, SchemaVersion: SchemaVersion}
}

// Run finds the leftovers and, unless DryRun, removes them.
func Run(ctx context.Context, o Options) (*Report, error) {
	r := NewReport(o.Namespace)
	err := run(ctx, o, r)
	if err != nil {
		r.Error, r.ExitCode = err.Error(), exitcode.Of(err)
	}
	return r, err
}

func run(ctx context.Context, o Options, r *Report) error {
	items, live, err := leftover.FindObjects(ctx, o.Client, o.Namespace, time.Now())
	if err != nil {
		return err
	}
	vol, err := cluster.FindVolume(ctx, o.Client, o.Namespace)
	if err != nil {
		return err
	}
	h := o.HelperOptions
	h.PVC, h.ReadWriteOnce, h.Purpose = vol.Name, vol.ReadWriteOnce(), "look at the staging folder"
	err = stagepod.WithHelperPod(ctx, h,
		func(pod string, agent *podexec.RemoteAgent) error {
			listing, err := agent.List(ctx)
			if err != nil {
				return err
			}
			items = append(items, leftover.Folders(listing.Leftovers, live)...)
			r.Found = append([]leftover.Item{}, dropSelf(items, pod)...)
			if len(r.Found) == 0 || o.DryRun {
				return nil
			}
			return remove(ctx, o, agent, r.Found)
		})
	if err != nil {
		return err
	}
	switch {
	case len(r.Found) == 0:
		r.Status = "clean"
	case o.DryRun:
		r.Status = "found"
	default:
		r.Status, r.Removed = "removed", true
	}
	return nil
}

func dropSelf(items []leftover.Item, self string) []leftover.Item {
	out := items[:0]
	for _, i := range items {
		if i.Kind != leftover.KindPod || i.Name != self {
			out = append(out, i)
		}
	}
	return out
}

// LeaseTTL is the duration of the Leases cleanup takes: the same as a push's.
const LeaseTTL = lock.DefaultTTL

// remove removes the leftovers table by table, each while holding that
// table's Lease: a Lease held by a live push is watched for up to its
// duration, and if its holder renews it, the table is skipped. No folder,
// Pod or Lease of a push that is alive is ever removed, even one that
// started after the leftovers were listed.
func remove(ctx context.Context, o Options, agent *podexec.RemoteAgent, items []leftover.Item) error {
	byTable := map[string][]leftover.Item{}
	var tables []string
	for _, i := range items {
		if i.Table == "" {
			// A helper Pod of a status or cleanup: no table, no Lease.
			if err := stagepod.Delete(ctx, o.Client, o.Namespace, i.Name); err != nil {
				return fmt.Errorf("removing pod %s: %w", i.Name, err)
			}
			o.Note("removed pod %s", i.Name)
			continue
		}
		if _, ok := byTable[i.Table]; !ok {
			tables = append(tables, i.Table)
		}
		byTable[i.Table] = append(byTable[i.Table], i)
	}
	sort.Strings(tables)
	holder := lock.LocalHolder("cleanup")
	for _, t := range tables {
		if !podexec.ValidTable(t) {
			return fmt.Errorf("leftovers name an unsafe table %q", t)
		}
		held, err := lock.Acquire(ctx, o.Client, o.Namespace, t, holder, LeaseTTL, lock.WithWarnings(o.Note))
		if err != nil {
			if exitcode.Of(err) == exitcode.Interrupted || ctx.Err() != nil {
				return err
			}
			o.Warn("kept the leftovers of table %s: %v", t, err)
			continue
		}
		err = removeTable(ctx, o, agent, t, byTable[t])
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.CleanupTimeout)
		rerr := held.Release(rctx, nil)
		cancel()
		if err == nil && rerr != nil {
			err = fmt.Errorf("giving the Lease of %s back: %w", t, rerr)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// removeTable removes one table's leftovers; the caller holds its Lease.
func removeTable(ctx context.Context, o Options, agent *podexec.RemoteAgent, table string, items []leftover.Item) error {
	var folders []string
	for _, i := range items {
		switch i.Kind {
		case leftover.KindPod:
			if err := stagepod.Delete(ctx, o.Client, o.Namespace, i.Name); err != nil {
				return fmt.Errorf("removing pod %s: %w", i.Name, err)
			}
			o.Note("removed pod %s", i.Name)
		case leftover.KindLease:
			// Given back when the caller releases it: freed and kept if it
			// records the staged copy, deleted otherwise.
			o.Note("released lease %s of a push that stopped", i.Name)
		case leftover.KindFolder:
			folders = append(folders, folderName(i.Name))
		}
	}
	if len(folders) == 0 {
		return nil
	}
	notes, err := agent.Remove(ctx, false, folders...)
	if err != nil {
		return exitcode.Errorf(exitcode.Staging, "removing the staging folders of %s: %v", table, err)
	}
	for _, n := range notes {
		o.Note("%s", n)
	}
	for _, f := range folders {
		o.Note("removed folder %s/%s", spec.StagingRoot, f)
	}
	return nil
}

// folderName is the name of a leftover folder inside the staging folder.
func folderName(path string) string {
	return path[strings.LastIndexByte(path, '/')+1:]
}
