package push

import (
	"context"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/tracebloc/kubectl-tracebloc/pkg/access"
	"github.com/tracebloc/kubectl-tracebloc/pkg/category"
	"github.com/tracebloc/kubectl-tracebloc/pkg/cluster"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/ingest"
	"github.com/tracebloc/kubectl-tracebloc/pkg/leftover"
	"github.com/tracebloc/kubectl-tracebloc/pkg/spec"
)

// Run performs the push: "fail fast, fail local". It always returns a report,
// filled as far as the push got; the error carries the exit code.
func Run(ctx context.Context, o Options) (*Report, error) {
	r := newReport(o)
	err := run(ctx, o, r)
	if err != nil && ctx.Err() != nil && exitcode.Of(err) != exitcode.Interrupted {
		// Whatever failed after Ctrl-C failed because of it: a request cut
		// off is not a cluster that cannot be reached. Staging reports its
		// own interruption, so this is before it began.
		err = exitcode.Errorf(exitcode.Interrupted, "interrupted before staging began: nothing was created in the cluster")
	}
	if err != nil {
		fail(r, err)
	}
	return r, err
}

// Refused is the report of a push its flags stopped before it began, so
// that -o json still prints its one object with the exit code.
func Refused(o Options, err error) *Report {
	r := newReport(o)
	fail(r, err)
	return r
}

func newReport(o Options) *Report {
	return &Report{Status: StatusFailed, LayoutVersion: category.LayoutVersion(), Table: o.Table, Category: o.Category, Intent: o.Intent, Path: o.Path,
		Excluded: []dataset.Exclusion{}, BWLimit: o.BWLimit, SchemaVersion: SchemaVersion}
}

func fail(r *Report, err error) {
	r.Status = StatusFailed
	r.Error = err.Error()
	r.ExitCode = exitcode.Of(err)
}

func run(ctx context.Context, o Options, r *Report) error {
	// 1. The table name, before any path is built from it.
	if err := spec.ValidateTable(o.Table); err != nil {
		return err
	}
	// 2. Flags → spec → schema. An unknown task gets the schema's verdict
	// and the list of tasks.
	task, known := category.Lookup(o.Category)
	dataID, err := dataIDInput(task, o)
	if err != nil {
		return err
	}
	in := spec.Inputs{Table: o.Table, Category: o.Category, Intent: o.Intent, LabelColumn: o.LabelColumn,
		TargetSize: o.TargetSize, MinSize: o.MinSize, NumberOfKeypoints: o.NumberOfKeypoints, DataID: dataID}
	declared, err := tabularInputs(task, o, &in)
	if err != nil {
		return err
	}
	s := spec.Build(task, in)
	if err := spec.Validate(withSchemaToCome(task, s)); err != nil {
		return err
	}
	if !known {
		return exitcode.Errorf(exitcode.BadFlags, "--task %q is not a task; the tasks are:\n%s", o.Category, category.List())
	}
	r.StagedPath = spec.StagedDir(o.Table) + "/"
	// 3. The local dataset, checked for its task.
	o.Printer.Notef("checking %s", o.Path)
	ds, schema, err := checkDataset(task, o, in, declared)
	if err == nil {
		err = checkIDColumn(task, ds, dataID)
	}
	if err != nil {
		return err
	}
	if schema != nil {
		s.Schema = schema
	}
	fillDataset(r, ds)
	if task.Family == category.FamilyImage {
		s = s.WithImages(task, ds.Extension, ds.Width, ds.Height)
	} else if ds.Extension != "" {
		s = s.WithExtension(ds.Extension)
	}
	if err := spec.Validate(s); err != nil {
		return exitcode.Wrap(exitcode.Local, fmt.Errorf("the dataset gives a spec the schema refuses: %w", err))
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
	// What the ingestion run needs, before anything is created.
	rules := access.PushRules
	var ingestErr error
	if !o.Ingest.StageOnly {
		ingestErr = preflightIngest(ctx, conn, target, r)
		if r.Ingestor != nil {
			rules = append(append([]access.Rule{}, rules...), access.IngestRules(r.Ingestor.ServiceAccount)...)
		}
	}
	// Permissions, before anything is created (a dry run reports them too).
	permErr := access.Check(ctx, conn.Client, conn.Namespace, rules)
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
	warnPerIngestion(o, task, r)
	if permErr != nil {
		return permErr
	}
	if ingestErr != nil {
		return ingestErr
	}
	warnLeftovers(ctx, o, conn)
	if o.DryRun {
		r.Status = StatusDryRun
		return nil
	}
	job, err := existingRun(ctx, o, conn)
	if err != nil {
		return err
	}
	if job != "" {
		// A re-run of a push whose run was already submitted: its data is
		// in that run (the ingestor may have copied it already), so it
		// attaches instead of staging again.
		o.Printer.Notef("an ingestion run with key %s exists (job %s): attaching to it instead of staging again", o.Ingest.IdempotencyKey, job)
		return followRun(ctx, o, conn, target, r, &RunReport{Job: job, Namespace: conn.Namespace, Key: o.Ingest.IdempotencyKey, Replay: true, State: ingest.StateRunning})
	}
	if err := stageDataset(ctx, o, conn, target, ds, r); err != nil {
		return err
	}
	if o.Ingest.StageOnly {
		return nil
	}
	return runIngest(ctx, o, conn, target, r)
}

// existingRun returns the Job of the run submitted with the push's
// --idempotency-key, if there is one. Not knowing is an error: a run of the
// key may be reading the staged copy that staging again would rewrite.
func existingRun(ctx context.Context, o Options, conn *Connection) (string, error) {
	if o.Ingest.StageOnly || o.Ingest.IdempotencyKey == "" {
		return "", nil
	}
	if len(validation.IsValidLabelValue(o.Ingest.IdempotencyKey)) > 0 {
		// No Job can carry it as a label (64 characters, or a '.', '_'
		// or '-' at an end): no run of it can be found, nor asked for.
		// The command refuses such keys (ingest.ValidateKey); this guards
		// callers that fill Options themselves.
		return "", nil
	}
	jobs, err := conn.Client.BatchV1().Jobs(conn.Namespace).List(ctx, metav1.ListOptions{LabelSelector: ingest.RunLabel + "=" + o.Ingest.IdempotencyKey})
	if err != nil {
		return "", exitcode.Wrap(exitcode.Cluster, cluster.APIError(err, "list", "jobs", conn.Namespace))
	}
	if len(jobs.Items) == 0 {
		return "", nil
	}
	return jobs.Items[0].Name, nil
}

func fillDataset(r *Report, ds *dataset.Dataset) {
	r.Path = ds.Root
	r.Files = len(ds.Files)
	r.Bytes = ds.Bytes
	r.Extension = ds.Extension
	if ds.Width > 0 {
		r.ImageSize = []int{ds.Width, ds.Height}
	}
	r.Labels = ds.Labels
	r.Records, r.SkippedRecords = ds.Rows, ds.Skipped
	r.Folders = map[string]int{}
	if t, ok := category.Lookup(ds.Task); ok && t.Primary != nil {
		r.Folders[t.Primary.Subdir] = ds.Images
	}
	for dir, n := range ds.Sidecars {
		r.Folders[dir] = n
	}
	r.Classes = ds.Classes
	r.Objects = ds.Objects
	r.Keypoints = ds.Keypoints
	r.Sequences, r.SchemaFlag, r.SchemaInferred = ds.Sequences, ds.SchemaFlag, ds.SchemaInferred
	r.Notes = ds.Notes
	if ds.Excluded != nil {
		r.Excluded = ds.Excluded
	}
}

// warnLeftovers points at `cleanup` when earlier pushes left stage Pods or
// expired Leases. It is advice only: errors are ignored.
func warnLeftovers(ctx context.Context, o Options, conn *Connection) {
	found, _, err := leftover.FindObjects(ctx, conn.Client, conn.Namespace, time.Now())
	if err != nil {
		return
	}
	// Leftovers of this table are this push's to handle once it holds the
	// table's Lease: dead stage Pods are deleted, the Lease taken over, the
	// partial copy resumed.
	var names []string
	for _, it := range found {
		if !strings.EqualFold(it.Table, o.Table) {
			names = append(names, strings.ToLower(it.Kind)+" "+it.Name)
		}
	}
	if len(names) == 0 {
		return
	}
	o.Printer.Warnf("earlier pushes left %d leftovers (%s): remove them with kubectl tracebloc cleanup -n %s",
		len(names), strings.Join(names, ", "), conn.Namespace)
}
