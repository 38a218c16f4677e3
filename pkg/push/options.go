// Package push runs the steps of `kubectl tracebloc push` in order, local
// checks first, and owns the cleanup of what it creates.
package push

import (
	"context"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/cluster"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset"
	"github.com/tracebloc/kubectl-tracebloc/pkg/output"
	"github.com/tracebloc/kubectl-tracebloc/pkg/podexec"
)

// Connection is cluster.Connection: a push connects only once the local
// checks passed.
type Connection = cluster.Connection

// Connector is cluster.Connector, called once the local checks passed.
type Connector = cluster.Connector

// Options are the resolved inputs of a push.
type Options struct {
	Path        string
	Table       string
	Category    string
	Intent      string
	LabelColumn string
	// TargetSize and MinSize are [width, height], nil when not given.
	TargetSize        []int
	MinSize           []int
	NumberOfKeypoints int
	// Schema is the --schema argument ("" infers it), LabelPolicy and
	// TimeColumn the tabular flags.
	Schema      string
	LabelPolicy string
	TimeColumn  string
	// DataID is the --data-id flag: uuid, content_hash or column:<name>
	// ("" leaves the ingestor's default).
	DataID     string
	DryRun     bool
	StageImage string
	// PodRunningTimeout bounds the wait for the stage Pod to run.
	PodRunningTimeout time.Duration
	// CleanupTimeout bounds deleting the stage Pod, even after Ctrl-C.
	CleanupTimeout time.Duration
	Limits         dataset.Limits
	// Retries is how many times a broken stream is retried, resuming.
	Retries int
	// Compress is the --compress mode: auto, always or never.
	Compress string
	// Exclude are the --exclude patterns (gitignore syntax, relative to the
	// dataset root).
	Exclude []string
	// BWLimit caps the stream, in bytes a second; zero means no cap.
	BWLimit int64
	Version string

	Connect Connector
	// NewRunner returns the exec runner for a stage Pod; nil means pods/exec.
	NewRunner func(conn *Connection, pod string) podexec.Runner
	Printer   *output.Printer
	// ShowSummary prints the one-screen summary before staging.
	ShowSummary bool
	// OnPodCreated tells the caller which Pod to clean up if it must exit at once.
	OnPodCreated func(namespace, pod string)

	Ingest IngestOptions
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
	// RemoveStaged replaces the removal of the staged copy after a clean run
	// (tests); nil means the stage agent in a helper Pod.
	RemoveStaged func(ctx context.Context, table string) error
}
