// Package verify compares a local dataset with the copy of it staged on
// the shared volume, file by file (names, sizes, SHA-256), without
// writing anything anywhere.
package verify

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/tracebloc/kubectl-tracebloc/pkg/category"
	"github.com/tracebloc/kubectl-tracebloc/pkg/cluster"
	"github.com/tracebloc/kubectl-tracebloc/pkg/datafile"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/lock"
	"github.com/tracebloc/kubectl-tracebloc/pkg/podexec"
	"github.com/tracebloc/kubectl-tracebloc/pkg/spec"
	"github.com/tracebloc/kubectl-tracebloc/pkg/stagepod"
	"github.com/tracebloc/kubectl-tracebloc/pkg/transfer"
)

// SchemaVersion is the version of the -o json object of verify
// (schema/verify.json): it changes only by additions.
const SchemaVersion = 1

// Options describe one verify.
type Options struct {
	stagepod.HelperOptions
	Path  string
	Table string
	// Task is the task the dataset was pushed for; empty takes the task
	// the table's Lease recorded at its last push.
	Task    string
	Exclude []string
	// Deep makes the agent read every staged file instead of trusting the
	// manifest of the copy for the files unchanged since they were staged.
	Deep bool
}

// File is one file that is on one side only.
type File struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
}

// Changed is a file on both sides whose size or content differs. An empty
// hash is one that was not needed (the sizes differ) or could not be read.
type Changed struct {
	Path         string `json:"path"`
	LocalSize    int64  `json:"local_size"`
	StagedSize   int64  `json:"staged_size"`
	LocalSHA256  string `json:"local_sha256,omitempty"`
	StagedSHA256 string `json:"staged_sha256,omitempty"`
}

// Odd is an entry of the staged copy that is not a regular file.
type Odd struct {
	Path string `json:"path"`
	What string `json:"what"`
}

// Side counts the files of one side.
type Side struct {
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
}

// Report is what verify found; -o json prints it.
type Report struct {
	SchemaVersion int    `json:"schema_version"`
	Table         string `json:"table"`
	Path          string `json:"path"`
	Namespace     string `json:"namespace,omitempty"`
	Task          string `json:"task,omitempty"`
	StagedPath    string `json:"staged_path,omitempty"`
	Deep          bool   `json:"deep"`
	// Staged: the table has a staged copy.
	Staged bool `json:"staged"`
	// Equal: the staged copy holds exactly the local files, byte for byte.
	Equal  bool `json:"equal"`
	Local  Side `json:"local"`
	Remote Side `json:"staged_copy"`
	// HashedStaged counts the staged files the agent read to hash them;
	// the others' hashes came from the copy's manifest.
	HashedStaged int `json:"hashed_staged_files"`
	// Missing are local files the staged copy lacks; Extra are staged
	// files the local dataset lacks; Changed differ in size or content.
	Missing  []File              `json:"missing"`
	Extra    []File              `json:"extra"`
	Changed  []Changed           `json:"changed"`
	Odd      []Odd               `json:"odd"`
	Excluded []dataset.Exclusion `json:"excluded"`
	Notes    []string            `json:"notes"`
	Error    string              `json:"error,omitempty"`
	ExitCode int                 `json:"exit_code"`
}

// Failed is the report of a verify stopped before it began (its flags,
// the kubeconfig): every array empty, the error and its exit code set.
func Failed(path, table string, err error) *Report {
	r := newReport(Options{Path: path, Table: table})
	if err != nil {
		r.Error, r.ExitCode = err.Error(), exitcode.Of(err)
	}
	return r
}

func newReport(o Options) *Report {
	return &Report{SchemaVersion: SchemaVersion, Table: o.Table, Path: o.Path, Namespace: o.Namespace, Task: o.Task, Deep: o.Deep,
		Missing: []File{}, Extra: []File{}, Changed: []Changed{}, Odd: []Odd{}, Excluded: []dataset.Exclusion{}, Notes: []string{}}
}

// Run compares the local dataset with the staged copy. The copy is read
// through a helper Pod, which is deleted afterwards. A difference is an
// error that exits exitcode.Differs.
func Run(ctx context.Context, o Options) (*Report, error) {
	r := newReport(o)
	err := run(ctx, o, r)
	if err != nil && ctx.Err() != nil {
		// Ctrl-C broke the helper Pod's stream: the interrupt is what
		// failed, and the object must echo the code the process exits with.
		err = exitcode.Errorf(exitcode.Interrupted, "interrupted: %w", ctx.Err())
	}
	if err != nil {
		r.Error, r.ExitCode = err.Error(), exitcode.Of(err)
	}
	return r, err
}

func run(ctx context.Context, o Options, r *Report) error {
	if !podexec.ValidTable(o.Table) {
		return exitcode.Errorf(exitcode.BadFlags, "table %q is not allowed: use letters, digits and _, starting with a letter or _ (e.g. --table cats_dogs)", o.Table)
	}
	if o.Task != "" {
		if _, ok := category.Lookup(o.Task); !ok {
			return exitcode.Errorf(exitcode.BadFlags, "--task %q is not a task: use one of %s", o.Task, strings.Join(category.Names(), ", "))
		}
	}
	if err := dataset.CheckExcludes(o.Exclude); err != nil {
		return err
	}
	target, err := cluster.Discover(ctx, o.Client, o.Namespace)
	if err != nil {
		return err
	}
	if r.Task == "" {
		records, err := lock.StagedTables(ctx, o.Client, o.Namespace)
		if err != nil {
			return err
		}
		r.Task = records[o.Table].Task
	}
	task, ok := category.Lookup(r.Task)
	if !ok {
		if r.Task != "" {
			return exitcode.Errorf(exitcode.BadFlags, "table %s was staged for task %q, which this plugin does not know: give --task (one of %s)", o.Table, r.Task, strings.Join(category.Names(), ", "))
		}
		// No record: either nothing was staged or the record is gone.
		// Reading the volume tells which.
		task = category.Task{}
	}
	r.StagedPath = spec.StagingRoot + "/" + o.Table + "/"
	var local *localView
	if task.Name != "" {
		if local, err = readLocal(o.Path, task, o.Exclude); err != nil {
			return err
		}
		r.Path = local.root
		r.Excluded = local.ign.Exclusions()
		r.Notes = append(r.Notes, local.notes...)
		for _, f := range local.files {
			r.Local.Files++
			r.Local.Bytes += f.Size
		}
	}
	h := o.HelperOptions
	h.PVC, h.ReadWriteOnce, h.Purpose = target.Volume.Name, target.Volume.ReadWriteOnce(), "read the staged copy of "+o.Table
	var staged podexec.StagedCopy
	err = stagepod.WithHelperPod(ctx, h, func(_ string, agent *podexec.RemoteAgent) error {
		staged, err = agent.Verify(ctx, o.Table, o.Deep)
		return err
	})
	if err != nil {
		return err
	}
	if !staged.Staged {
		return exitcode.Errorf(exitcode.Differs, "table %s has no staged copy in namespace %s: push it first (kubectl tracebloc push %s --table %s), or name a staged table (kubectl tracebloc status -n %s lists them)", o.Table, o.Namespace, o.Path, o.Table, o.Namespace)
	}
	r.Staged, r.HashedStaged = true, staged.Hashed
	if local == nil {
		return exitcode.Errorf(exitcode.BadFlags, "table %s has a staged copy but no record of its task: give the task it was pushed for, e.g. --task %s", o.Table, category.Names()[0])
	}
	for _, f := range staged.Files {
		r.Remote.Files++
		r.Remote.Bytes += f.Size
	}
	for _, odd := range staged.Odd {
		r.Odd = append(r.Odd, Odd{Path: odd.Path, What: odd.What})
	}
	if staged.OddCount > len(staged.Odd) {
		r.Notes = append(r.Notes, fmt.Sprintf("the staged copy holds %d entries that are not regular files; the first %d are listed", staged.OddCount, len(staged.Odd)))
	}
	if err := compare(local, staged, r); err != nil {
		return err
	}
	r.Equal = len(r.Missing)+len(r.Extra)+len(r.Changed)+staged.OddCount == 0
	if !r.Equal {
		return exitcode.Errorf(exitcode.Differs, "the staged copy of %s differs from %s: %d missing, %d extra, %d changed%s", o.Table, r.Path,
			len(r.Missing), len(r.Extra), len(r.Changed), oddPart(staged.OddCount))
	}
	return nil
}

func oddPart(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(", %d not regular files", n)
}

// compare fills the differences. Local files are hashed only where the
// staged copy holds a file of the same name and size: any other
// difference is known without reading them.
func compare(local *localView, staged podexec.StagedCopy, r *Report) error {
	seen := map[string]bool{}
	var toHash []int
	for i, f := range local.files {
		seen[f.Rel] = true
		s, ok := staged.Files[f.Rel]
		switch {
		case !ok:
			r.Missing = append(r.Missing, File{Path: f.Rel, Size: f.Size})
		case s.Size != f.Size:
			r.Changed = append(r.Changed, Changed{Path: f.Rel, LocalSize: f.Size, StagedSize: s.Size, StagedSHA256: s.SHA256})
		default:
			toHash = append(toHash, i)
		}
	}
	for rel, s := range staged.Files {
		if !seen[rel] {
			r.Extra = append(r.Extra, File{Path: rel, Size: s.Size})
		}
	}
	files := make([]datafile.File, 0, len(toHash))
	for _, i := range toHash {
		files = append(files, local.files[i])
	}
	sums, err := transfer.HashFiles(local.root, files)
	if err != nil {
		return exitcode.Errorf(exitcode.Local, "hashing the local dataset: %w", err)
	}
	for _, f := range files {
		s := staged.Files[f.Rel]
		got, _ := sums.Sum(f.Rel)
		if got != s.SHA256 || s.SHA256 == "" {
			r.Changed = append(r.Changed, Changed{Path: f.Rel, LocalSize: f.Size, StagedSize: s.Size, LocalSHA256: got, StagedSHA256: s.SHA256})
		}
	}
	sort.Slice(r.Extra, func(i, j int) bool { return r.Extra[i].Path < r.Extra[j].Path })
	sort.Slice(r.Changed, func(i, j int) bool { return r.Changed[i].Path < r.Changed[j].Path })
	return nil
}
