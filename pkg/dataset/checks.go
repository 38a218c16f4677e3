package dataset

import (
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/tracebloc/kubectl-tracebloc/pkg/category"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// checker is one content check a task's description names. A check may read
// columns of labels.csv row by row, look at every primary file (with its
// sidecars) on a worker, and report when everything was seen.
type checker interface {
	// columns are the labels.csv columns the check reads.
	columns() []column
	// row sees each data row of labels.csv; get returns a column's value.
	row(line int, get func(col string) string)
	// file runs on a worker for each primary file. Checks run in the order
	// the task lists them, so a later check sees what an earlier one put in
	// u (the image size). It must only write to u and its result.
	file(u *unit) any
	// collect receives file's result, on one goroutine.
	collect(u *unit, res any)
	// finish adds the check's problems and notes.
	finish()
}

// column is a labels.csv column a check needs, and why.
type column struct{ name, why string }

// unit is one primary file and what the checks learned about it.
type unit struct {
	// name is the file name in the primary folder, rel its dataset path.
	name, rel, stem string
	// w, h and format are set by the images check once the header decoded.
	w, h   int
	format string
	err    error
}

// nop is a check that does nothing at one of its steps.
type nop struct{}

func (nop) columns() []column            { return nil }
func (nop) row(int, func(string) string) {}
func (nop) file(*unit) any               { return nil }
func (nop) collect(*unit, any)           {}
func (nop) finish()                      {}

// registry maps the check names of tasks.json to their constructors. A new
// task's checks are added here.
var registry = map[string]func(r *checkRun) checker{
	"images":     newImagesCheck,
	"pascal_voc": newVOCCheck,
	"masks":      newMasksCheck,
	"keypoints":  newKeypointsCheck,
}

// checkersFor refuses, before any file is read, a task whose layout or
// checks this build does not know.
func checkersFor(opts Options) ([]func(*checkRun) checker, error) {
	t := opts.Task
	var missing []string
	var out []func(*checkRun) checker
	for _, name := range t.Checks {
		c, ok := registry[name]
		if !ok {
			missing = append(missing, name)
			continue
		}
		out = append(out, c)
	}
	if !checkable(t) || len(missing) > 0 {
		return nil, exitcode.Errorf(exitcode.BadFlags, "push cannot check %s datasets yet: it checks %s", t.Name, strings.Join(checkedTasks(), ", "))
	}
	return out, nil
}

// CanCheck tells whether this build checks datasets of the named task.
func CanCheck(t string) bool {
	for _, n := range checkedTasks() {
		if n == t {
			return true
		}
	}
	return false
}

// checkable tells whether t has the layout Check walks: a primary folder
// whose files a labels.csv names, or whose records need no manifest.
func checkable(t category.Task) bool {
	return t.Primary != nil && (t.Manifest.FilenameColumn != "" || !t.Manifest.Listed())
}

func checkedTasks() []string {
	var out []string
	for _, t := range category.All() {
		ok := checkable(t)
		for _, c := range t.Checks {
			if _, found := registry[c]; !found {
				ok = false
			}
		}
		if ok {
			out = append(out, t.Name)
		}
	}
	return out
}

// checkFiles runs every check's file step on a bounded worker pool, one unit
// per primary file. Results are collected on this goroutine, so checks keep
// only counts and a few examples: memory stays flat in the number of files.
func (r *checkRun) checkFiles() {
	if len(r.checks) == 0 || len(r.primary) == 0 {
		return
	}
	type done struct {
		u    *unit
		ress []any
	}
	jobs := make(chan *unit)
	results := make(chan done)
	workers := 2 * runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range jobs {
				ress := make([]any, len(r.checks))
				for i, c := range r.checks {
					ress[i] = c.file(u)
				}
				results <- done{u, ress}
			}
		}()
	}
	dir := r.task.Primary.Subdir
	go func() {
		for name, stem := range r.primary {
			jobs <- &unit{name: name, rel: dir + "/" + name, stem: stem}
		}
		close(jobs)
		wg.Wait()
		close(results)
	}()
	for d := range results {
		for i, c := range r.checks {
			c.collect(d.u, d.ress[i])
		}
	}
}

// findings groups one kind of problem over many files: a count, the first
// few examples by name, and the fix.
type findings struct {
	kinds map[string]*finding
}

type finding struct {
	n        int
	examples []string
}

func (f *findings) add(kind, example string) {
	if f.kinds == nil {
		f.kinds = map[string]*finding{}
	}
	k := f.kinds[kind]
	if k == nil {
		k = &finding{}
		f.kinds[kind] = k
	}
	k.n++
	k.examples = keepSmallest(k.examples, example, 5)
}

// report adds one problem per kind. kind is a format with %d for the count
// and %s for the examples, so the fix can follow them.
func (f *findings) report(probs *Problems) {
	kinds := make([]string, 0, len(f.kinds))
	for k := range f.kinds {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		x := f.kinds[k]
		ex := strings.Join(x.examples, "; ")
		if x.n > len(x.examples) {
			ex += fmt.Sprintf(" (and %d more)", x.n-len(x.examples))
		}
		probs.addf(k, x.n, ex)
	}
}
