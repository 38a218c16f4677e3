// Package dataset walks and checks a local dataset for a task before
// anything touches the cluster: the layout the task's description gives
// (manifest, primary folder, sidecars), then the task's content checks. It
// returns a value and prints nothing.
package dataset

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/tracebloc/kubectl-tracebloc/pkg/category"
	"github.com/tracebloc/kubectl-tracebloc/pkg/datafile"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/output"
)

// Layout names.
const (
	LabelsFile = "labels.csv"
	ImagesDir  = "images"
	// FilenameColumn is the filename column of the image tasks.
	FilenameColumn = "filename"
)

// File is one file that push stages (see datafile.File).
type File = datafile.File

// Dataset is a checked dataset, ready to stage.
type Dataset struct {
	Root string
	// Task is the task the dataset was checked for.
	Task  string
	Files []File
	Bytes int64
	// Images counts the files of the primary folder (images/ for image tasks).
	Images    int
	Extension string
	Width     int
	Height    int
	// Rows counts the records: the rows of the CSV, or the images of a
	// task without a manifest (one record per image).
	Rows int
	// Skipped counts the records the ingestor will skip (object detection:
	// annotations without an object).
	Skipped int
	// Labels counts the rows of each label value.
	Labels map[string]int
	// Sidecars counts the files of each sidecar folder ("annotations", "masks").
	Sidecars map[string]int
	// Classes counts the objects of each class (object detection).
	Classes map[string]int
	// Objects is the number of annotated objects (object detection).
	Objects int
	// Keypoints is the number of keypoints of every row (keypoint detection).
	Keypoints int
	// SchemaFlag is the tabular schema as a ready --schema argument;
	// SchemaInferred says it was inferred from the CSV, not declared.
	SchemaFlag     string
	SchemaInferred bool
	// Sequences counts the sequences of a grouped task (time_series_classification).
	Sequences int
	// Cached counts the files whose check came from the check cache,
	// unread (text tasks).
	Cached int
	// CacheNotes are notes on the check cache (ignored, not saved): of
	// the check, not of the dataset.
	CacheNotes []string
	// Tokenizer says tokenizer.json is staged with the texts.
	Tokenizer bool `json:"tokenizer,omitempty"`
	// Excluded counts by pattern the files left out (leftovers,
	// .traceblocignore, --exclude); never nil after a check.
	Excluded []Exclusion
	// Notes are findings that do not stop a push.
	Notes []string
}

// Options select the task, the label column, the caps and the size rules.
type Options struct {
	// Task is the task's description; the zero Task means image_classification.
	Task        category.Task
	LabelColumn string
	Limits      Limits
	// TargetSize and MinSize are [width, height], nil when not given.
	TargetSize        []int
	MinSize           []int
	NumberOfKeypoints int
	// Exclude are the --exclude patterns (gitignore syntax, relative to
	// the dataset root), applied after the leftovers and .traceblocignore.
	Exclude []string
}

// Problems is every reason a dataset cannot be pushed.
type Problems struct {
	Root string
	List []string
}

func (p *Problems) Error() string {
	if len(p.List) == 1 {
		return fmt.Sprintf("dataset %s: %s", p.Root, p.List[0])
	}
	return fmt.Sprintf("dataset %s has %d problems:\n  - %s", p.Root, len(p.List), strings.Join(p.List, "\n  - "))
}

func (p *Problems) addf(format string, args ...any) {
	p.List = append(p.List, fmt.Sprintf(format, args...))
}

// checkRun is one check of one dataset.
type checkRun struct {
	abs    string
	task   category.Task
	opts   Options
	ds     *Dataset
	probs  *Problems
	checks []checker
	// primary maps each file name of the primary folder to its stem.
	primary map[string]string
	// sidecars maps a sidecar folder to its file names.
	sidecars map[string]map[string]struct{}
	// caseOnly maps an annotation name the pairing looks for (img.xml) to
	// the file there in another case (annotations/img.XML).
	caseOnly map[string]string
	// ign leaves out the leftovers and the excluded files.
	ign *Ignore
}

// Check walks root and checks it for opts.Task: layout, sizes, the manifest
// and every content check of the task. Every problem found is reported at
// once; the error exits 3 (2 for a task push cannot check yet).
func Check(root string, opts Options) (*Dataset, error) {
	if opts.Task.Name == "" {
		opts.Task, _ = category.Lookup(category.Names()[0])
	}
	makers, err := checkersFor(opts)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, exitcode.Errorf(exitcode.Local, "resolving %s: %w", root, err)
	}
	r := &checkRun{abs: abs, task: opts.Task, opts: opts,
		ds:    &Dataset{Root: abs, Task: opts.Task.Name},
		probs: &Problems{Root: root}, sidecars: map[string]map[string]struct{}{}}
	for _, m := range makers {
		r.checks = append(r.checks, m(r))
	}
	if err := checkLayout(r, root); err != nil {
		return nil, err
	}
	if r.ign, err = NewIgnore(abs, opts.Exclude); err != nil {
		return nil, err
	}
	r.walk()
	if opts.Task.Manifest.Listed() {
		r.checkManifest()
	} else {
		r.ds.Rows = r.ds.Images
	}
	r.checkFiles()
	for _, c := range r.checks {
		c.finish()
	}
	r.ds.Excluded = r.ign.Exclusions()
	r.ds.Notes = append(r.ds.Notes, r.ign.Notes()...)
	if msg, over := opts.Limits.over(r.ds.Bytes); over {
		r.probs.addf("%s", msg)
	}
	if len(r.probs.List) > 0 {
		return nil, exitcode.Wrap(exitcode.Local, r.probs)
	}
	return r.ds, nil
}

// HumanBytes renders n in binary units, as the caps are written.
func HumanBytes(n int64) string { return output.HumanBytes(n) }

// listFirst names the first few items and says how many more there are.
func listFirst(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s (and %d more)", strings.Join(items[:n], ", "), len(items)-n)
}
