// Package push runs the steps of `kubectl tracebloc push` in order, local
// checks first, and owns the cleanup of what it creates.
package push

import (
	"context"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/category"
	"github.com/tracebloc/kubectl-tracebloc/pkg/cluster"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset"
	"github.com/tracebloc/kubectl-tracebloc/pkg/output"
	"github.com/tracebloc/kubectl-tracebloc/pkg/podexec"
	"github.com/tracebloc/kubectl-tracebloc/pkg/spec"
)

// Connection is cluster.Connection: a push connects only once the local
// checks passed.
type Connection = cluster.Connection

// Connector is cluster.Connector, called once the local checks passed.
type Connector = cluster.Connector

// Options are the inputs of a push, parsed and typed, in the parts its
// steps take: the local checks read Local, staging Stage, the run Ingest.
// No flag is parsed past this point (the command does it, once).
type Options struct {
	Local  LocalOptions
	Stage  StageOptions
	Ingest IngestOptions
	// DryRun runs every check and stages nothing.
	DryRun bool
	// ShowSummary prints the one-screen summary before staging.
	ShowSummary bool

	// Connect is called once the local checks passed: a broken kubeconfig
	// is reported after the dataset is known to be good.
	Connect Connector
	Printer *output.Printer
	Hooks   Hooks
}

// LocalOptions are what the checks that need no cluster read.
type LocalOptions struct {
	// Path is the dataset: a folder, or a CSV for a tabular task.
	Path string
	// Task is the task of Inputs.Category; its Name is "" when the
	// category names no task (the schema refuses the spec then).
	Task category.Task
	// Inputs are the table and every flag of the ingest spec, parsed.
	Inputs spec.Inputs
	// Declared is the --schema the user gave, nil to infer it from the CSV.
	Declared spec.Schema
	Limits   dataset.Limits
	// Exclude are the --exclude patterns (gitignore syntax, relative to the
	// dataset root).
	Exclude []string
}

// FromFlags are the local options of what spec.ParseFlags read.
func FromFlags(path string, p spec.Parsed, limits dataset.Limits, exclude []string) LocalOptions {
	return LocalOptions{Path: path, Task: p.Task, Inputs: p.Inputs, Declared: p.Declared, Limits: limits, Exclude: exclude}
}

// StageOptions are what staging reads: the stage Pod and the stream.
type StageOptions struct {
	Image string
	// PodRunningTimeout bounds the wait for the stage Pod to run.
	PodRunningTimeout time.Duration
	// CleanupTimeout bounds deleting what the push created, even after Ctrl-C.
	CleanupTimeout time.Duration
	// Retries is how many times a broken stream is retried, resuming.
	Retries int
	// Compress is the --compress mode: auto, always or never.
	Compress string
	// BWLimit caps the stream, in bytes a second; zero means no cap.
	BWLimit int64
	// Version is the plugin's, written on the Pods it creates.
	Version string
}

// IngestOptions say what happens after staging.
type IngestOptions struct {
	// StageOnly stops after staging: no run is submitted.
	StageOnly bool
	// Detach submits the run and returns without following it.
	Detach bool
	// IdempotencyKey makes a re-run attach to the run it already started;
	// empty means a fresh key.
	IdempotencyKey string
	// KeepStaged keeps the staged copy after a clean run.
	KeepStaged bool
	// StartTimeout bounds the wait for the run's pod to start.
	StartTimeout time.Duration
}

// Hooks are the seams of a push: what its caller learns while it runs, and
// what tests replace.
type Hooks struct {
	// OnPodCreated tells the caller which Pod to clean up if it must exit at once.
	OnPodCreated func(namespace, pod string)
	// NewRunner returns the exec runner for a stage Pod; nil means pods/exec.
	NewRunner func(conn *Connection, pod string) podexec.Runner
	// RemoveStaged replaces the removal of the staged copy after a clean run
	// (tests); nil means the stage agent in a helper Pod.
	RemoveStaged func(ctx context.Context, table string) error
}

// table is the table the push stages.
func (o Options) table() string { return o.Local.Inputs.Table }
