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
	in := o.Local.Inputs
	return &Report{Status: StatusFailed, LayoutVersion: category.LayoutVersion(), Table: in.Table, Category: in.Category, Intent: in.Intent, Path: o.Local.Path,
		Excluded: []dataset.Exclusion{}, BWLimit: o.Stage.BWLimit, SchemaVersion: SchemaVersion}
}

func fail(r *Report, err error) {
	r.Status = StatusFailed
	r.Error = err.Error()
	r.ExitCode = exitcode.Of(err)
}

// run is a push in four steps, each failing before the next begins:
// preflight (no cluster), connect (kubeconfig, release, volume, what the run
// and the permissions need), stage, ingest.
func run(ctx context.Context, o Options, r *Report) error {
	ds, err := preflight(ctx, o, r)
	if err != nil {
		return err
	}
	conn, target, err := connect(ctx, o, r)
	if err != nil {
		return err
	}
	if err := review(ctx, o, conn, target, ds, r); err != nil {
		return err
	}
	if o.DryRun {
		r.Status = StatusDryRun
		return nil
	}
	defer settleMemory(len(ds.Files))()
	return stageAndIngest(ctx, o, conn, target, ds, r)
}

// preflight is every check that needs no cluster: the table, the spec
// against its schema, then the dataset for its task. It fills the report's
// dataset and spec.
func preflight(ctx context.Context, o Options, r *Report) (*dataset.Dataset, error) {
	// The table name, before any path is built from it (the command
	// checked it already; a caller filling Options itself may not have).
	if err := spec.ValidateTable(o.table()); err != nil {
		return nil, err
	}
	// Flags → spec → schema. An unknown task gets the schema's verdict
	// and the list of tasks.
	task, in := o.Local.Task, o.Local.Inputs
	s := spec.Build(task, in)
	if err := spec.Validate(withSchemaToCome(task, s)); err != nil {
		return nil, err
	}
	if task.Name == "" {
		return nil, exitcode.Errorf(exitcode.BadFlags, "--task %q is not a task; the tasks are:\n%s", in.Category, category.List())
	}
	r.StagedPath = spec.StagedDir(in.Table) + "/"
	o.Printer.Notef("checking %s", o.Local.Path)
	ds, schema, err := checkUntil(ctx, o.Local)
	if err == nil {
		err = checkIDColumn(task, ds, in.DataID)
	}
	if err != nil {
		return nil, err
	}
	for _, n := range ds.CacheNotes {
		o.Printer.Notef("%s", n)
	}
	if ds.Cached > 0 {
		o.Printer.Notef("%d texts passed their check before and are unchanged since: taken from the check cache, not read", ds.Cached)
	}
	fillDataset(r, ds)
	s = specOf(task, s, ds, schema)
	if err := spec.Validate(s); err != nil {
		return nil, exitcode.Wrap(exitcode.Local, fmt.Errorf("the dataset gives a spec the schema refuses: %w", err))
	}
	r.Spec = &s
	return ds, nil
}

// specOf completes the spec with what the dataset showed: the CSV's
// schema, the images' extension and size.
func specOf(task category.Task, s spec.Spec, ds *dataset.Dataset, schema map[string]string) spec.Spec {
	if schema != nil {
		s.Schema = schema
	}
	if task.Family == category.FamilyImage {
		return s.WithImages(task, ds.Extension, ds.Width, ds.Height)
	}
	if ds.Extension != "" {
		return s.WithExtension(ds.Extension)
	}
	return s
}

// connect reads the kubeconfig and finds the client release and its volume.
func connect(ctx context.Context, o Options, r *Report) (*Connection, *cluster.Target, error) {
	conn, err := o.Connect()
	if err != nil {
		return nil, nil, exitcode.Wrap(exitcode.Local, err)
	}
	r.Context, r.Namespace = conn.Context, conn.Namespace
	target, err := cluster.Discover(ctx, conn.Client, conn.Namespace)
	if err != nil {
		return nil, nil, err
	}
	r.Release, r.PVC = &target.Release, &target.Volume
	return conn, target, nil
}

// review checks, before anything is created, what the run needs and the
// permissions (a dry run reports them too), then prints the summary and
// the warnings, and refuses what would fail later.
func review(ctx context.Context, o Options, conn *Connection, target *cluster.Target, ds *dataset.Dataset, r *Report) error {
	rules := access.PushRules
	var ingestErr error
	if !o.Ingest.StageOnly {
		ingestErr = preflightIngest(ctx, conn, target, r)
		if r.Ingestor != nil {
			rules = append(append([]access.Rule{}, rules...), access.IngestRules(r.Ingestor.ServiceAccount)...)
		}
	}
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
	if o.ShowSummary || o.DryRun {
		printSummary(o.Printer, r, ds)
	}
	for _, n := range ds.Notes {
		o.Printer.Warnf("%s", n)
	}
	warnPerIngestion(o, o.Local.Task, r)
	if permErr != nil {
		return permErr
	}
	if ingestErr != nil {
		return ingestErr
	}
	warnLeftovers(ctx, o, conn)
	return nil
}

// stageAndIngest stages the dataset and runs its ingestion, or attaches to
// the run its --idempotency-key already started.
func stageAndIngest(ctx context.Context, o Options, conn *Connection, target *cluster.Target, ds *dataset.Dataset, r *Report) error {
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
	r.Records, r.SkippedRecords, r.CachedChecks = ds.Rows, ds.Skipped, ds.Cached
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
		if !strings.EqualFold(it.Table, o.table()) {
			names = append(names, strings.ToLower(string(it.Kind))+" "+it.Name)
		}
	}
	if len(names) == 0 {
		return
	}
	o.Printer.Warnf("earlier pushes left %d leftovers (%s): remove them with kubectl tracebloc cleanup -n %s",
		len(names), strings.Join(names, ", "), conn.Namespace)
}
