package push

import (
	"github.com/tracebloc/kubectl-tracebloc/pkg/cluster"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset"
	"github.com/tracebloc/kubectl-tracebloc/pkg/ingest"
	"github.com/tracebloc/kubectl-tracebloc/pkg/spec"
	"github.com/tracebloc/kubectl-tracebloc/pkg/transfer"
)

// Status values of a Report.
const (
	StatusStaged = "staged"
	// StatusIngested: staged, and the run succeeded with no failures.
	StatusIngested = "ingested"
	// StatusSubmitted: staged and submitted with --detach.
	StatusSubmitted = "submitted"
	StatusDryRun    = "dry-run"
	StatusFailed    = "failed"
)

// SchemaVersion is the version of the -o json object of push
// (schema/push.json): it changes only by additions.
const SchemaVersion = 1

// Report is everything a push learned and did; -o json prints it as the one
// object on stdout, on success and on failure. docs/json-output.md documents it.
type Report struct {
	Status     string           `json:"status"`
	Table      string           `json:"table"`
	Category   string           `json:"category"`
	Intent     string           `json:"intent"`
	Path       string           `json:"path"`
	Context    string           `json:"context,omitempty"`
	Namespace  string           `json:"namespace,omitempty"`
	Release    *cluster.Release `json:"release,omitempty"`
	PVC        *cluster.Volume  `json:"pvc,omitempty"`
	StagedPath string           `json:"staged_path,omitempty"`
	// Permissions is "ok" or "missing" once the access review ran.
	Permissions string         `json:"permissions,omitempty"`
	Files       int            `json:"files"`
	Bytes       int64          `json:"bytes"`
	Extension   string         `json:"extension,omitempty"`
	ImageSize   []int          `json:"image_size,omitempty"`
	Labels      map[string]int `json:"labels,omitempty"`
	// Folders counts the staged files of each folder ("images", "annotations", "masks").
	Folders map[string]int `json:"folders,omitempty"`
	// Classes counts the annotated objects (boxes) of each class (object detection).
	Classes map[string]int `json:"classes,omitempty"`
	// Objects is the number of annotated objects, boxes (object detection).
	Objects int `json:"objects,omitempty"`
	// Keypoints is the number of keypoints per row (keypoint detection).
	Keypoints int `json:"keypoints,omitempty"`
	// Sequences counts the sequences (time_series_classification).
	Sequences int `json:"sequences,omitempty"`
	// SchemaFlag is the tabular schema as a ready --schema argument.
	SchemaFlag     string   `json:"schema_flag,omitempty"`
	SchemaInferred bool     `json:"schema_inferred,omitempty"`
	Notes          []string `json:"notes,omitempty"`
	// Excluded counts by pattern the files left out of the push: the
	// leftovers no one means to push, .traceblocignore and --exclude.
	Excluded []dataset.Exclusion `json:"excluded"`
	// BWLimit is the --bwlimit cap of the stream in bytes a second, 0 for none.
	BWLimit  int64            `json:"bwlimit_bytes_per_s,omitempty"`
	Spec     *spec.Spec       `json:"spec,omitempty"`
	StagePod string           `json:"stage_pod,omitempty"`
	Transfer *transfer.Result `json:"transfer,omitempty"`
	Verified bool             `json:"verified"`
	// DurationSeconds covers the staging, from creating the stage pod to its deletion.
	DurationSeconds float64 `json:"duration_seconds,omitempty"`
	// ThroughputMiBps is the dataset size over DurationSeconds.
	ThroughputMiBps float64 `json:"throughput_mib_per_s,omitempty"`
	// JobsManager and Ingestor are what the run is submitted through.
	JobsManager *cluster.JobsManager `json:"jobs_manager,omitempty"`
	Ingestor    *cluster.Ingestor    `json:"ingestor,omitempty"`
	// Run is the ingestion run, once submitted.
	Run *RunReport `json:"run,omitempty"`
	// StagedRemoved is true once the staged copy was removed after a clean run.
	StagedRemoved bool   `json:"staged_removed"`
	Error         string `json:"error,omitempty"`
	ExitCode      int    `json:"exit_code"`

	// LayoutVersion is the version of the ingestor's layout contract the
	// dataset is checked against ("4").
	LayoutVersion string `json:"layout_version"`
	// Records is the number of records the ingestor will find: the rows of
	// the CSV, one per image for object detection.
	Records int `json:"records"`
	// SkippedRecords are records the ingestor will skip (object detection:
	// annotations without an object).
	SkippedRecords int `json:"skipped_records,omitempty"`
	// CachedChecks counts the files whose check came from the check
	// cache, unread (text tasks).
	CachedChecks int `json:"cached_checks,omitempty"`
	// SchemaVersion is SchemaVersion in every report.
	SchemaVersion int `json:"schema_version"`
}

// RunReport is the ingestion run of a push.
type RunReport struct {
	Job       string          `json:"job"`
	Namespace string          `json:"namespace"`
	Key       string          `json:"key"`
	Replay    bool            `json:"replay"`
	State     string          `json:"state"`
	Reason    string          `json:"reason,omitempty"`
	Summary   *ingest.Summary `json:"summary,omitempty"`
}
