package push

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/access"
	"github.com/tracebloc/kubectl-tracebloc/pkg/cleanup"
	"github.com/tracebloc/kubectl-tracebloc/pkg/cluster"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/spec"
)

// Run performs the push: "fail fast, fail local". It always returns a report,
// filled as far as the push got; the error carries the exit code.
func Run(ctx context.Context, o Options) (*Report, error) {
	r := &Report{Status: StatusFailed, Table: o.Table, Category: o.Category, Intent: o.Intent, Path: o.Path}
	err := run(ctx, o, r)
	if err != nil && ctx.Err() != nil && exitcode.Of(err) != exitcode.Interrupted {
		// Whatever failed after Ctrl-C failed because of it: a request cut
		// off is not a cluster that cannot be reached. Staging reports its
		// own interruption, so this is before it began.
		err = exitcode.Errorf(exitcode.Interrupted, "interrupted before staging began: nothing was created in the cluster")
	}
	if err != nil {
		r.Status = StatusFailed
		r.Error = err.Error()
		r.ExitCode = exitcode.Of(err)
	}
	return r, err
}

func run(ctx context.Context, o Options, r *Report) error {
	// 1. The table name, before any path is built from it.
	if err := spec.ValidateTable(o.Table); err != nil {
		return err
	}
	// 2. Flags → spec → schema.
	s := spec.Build(spec.Inputs{Table: o.Table, Category: o.Category, Intent: o.Intent, LabelColumn: o.LabelColumn})
	if err := spec.Validate(s); err != nil {
		return err
	}
	r.StagedPath = spec.StagedDir(o.Table) + "/"
	// 3. The local dataset.
	o.Printer.Notef("checking %s", o.Path)
	ds, err := dataset.Check(o.Path, dataset.Options{LabelColumn: o.LabelColumn, Limits: o.Limits})
	if err != nil {
		return err
	}
	fillDataset(r, ds)
	s = s.WithImages(ds.Extension, ds.Width, ds.Height)
	if err := spec.Validate(s); err != nil {
		return exitcode.Wrap(exitcode.Local, fmt.Errorf("the images give a spec the schema refuses: %w", err))
	}
	r.Spec = &s
	// 4. Kubeconfig and client.
	conn, err := o.Connect()
	if err != nil {
		return exitcode.Wrap(exitcode.Local, err)
	}
	r.Context, r.Namespace = conn.Context, conn.Namespace
	// 5. Release and shared volume.
	target, err := cluster.Discover(ctx, conn.Client, conn.Namespace)
	if err != nil {
		return err
	}
	r.Release, r.PVC = &target.Release, &target.Volume
	// Permissions, before anything is created (a dry run reports them too).
	permErr := access.Check(ctx, conn.Client, conn.Namespace, access.PushRules)
	switch {
	case permErr == nil:
		r.Permissions = "ok"
	case exitcode.Of(permErr) == exitcode.Permission:
		r.Permissions = "missing"
	default:
		// The review itself failed: nothing is known of the permissions.
		return permErr
	}
	// 6. The summary.
	if o.ShowSummary || o.DryRun {
		printSummary(o.Printer, r, ds)
	}
	for _, n := range ds.Notes {
		o.Printer.Warnf("%s", n)
	}
	if permErr != nil {
		return permErr
	}
	warnLeftovers(ctx, o, conn)
	if o.DryRun {
		r.Status = StatusDryRun
		return nil
	}
	return stageDataset(ctx, o, conn, target, ds, r)
}

func fillDataset(r *Report, ds *dataset.Dataset) {
	r.Path = ds.Root
	r.Files = len(ds.Files)
	r.Bytes = ds.Bytes
	r.Extension = ds.Extension
	r.ImageSize = []int{ds.Width, ds.Height}
	r.Labels = ds.Labels
	r.Notes = ds.Notes
}

// warnLeftovers points at `cleanup` when earlier pushes left stage Pods or
// expired Leases. It is advice only: errors are ignored.
func warnLeftovers(ctx context.Context, o Options, conn *Connection) {
	items, _, err := cleanup.FindObjects(ctx, conn.Client, conn.Namespace, time.Now())
	if err != nil || len(items) == 0 {
		return
	}
	names := make([]string, len(items))
	for i, it := range items {
		names[i] = strings.ToLower(it.Kind) + " " + it.Name
	}
	o.Printer.Warnf("earlier pushes left %d leftovers (%s): remove them with kubectl tracebloc cleanup -n %s",
		len(items), strings.Join(names, ", "), conn.Namespace)
}
