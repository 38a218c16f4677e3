package verify

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tracebloc/kubectl-tracebloc/pkg/category"
	"github.com/tracebloc/kubectl-tracebloc/pkg/datafile"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// localView is the part of the local dataset a push of task stages, by
// the path it is staged as.
type localView struct {
	// root is the folder the files are read from.
	root  string
	files []datafile.File
	ign   *dataset.Ignore
	// notes say what was left out of the comparison.
	notes []string
}

// readLocal lists what a push of task would stage from path, after the
// same leftovers, .traceblocignore and --exclude rules. Unlike push it
// judges no content: a dataset edited since its push is compared, not
// refused. Entries that are not regular files are never staged, so they
// are left out and counted.
func readLocal(path string, task category.Task, exclude []string) (*localView, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, exitcode.Errorf(exitcode.Local, "resolving %s: %w", path, err)
	}
	st, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, exitcode.Errorf(exitcode.Local, "%s: no such file or folder: give the dataset you pushed", path)
	case err != nil:
		return nil, exitcode.Errorf(exitcode.Local, "reading %s: %w", path, err)
	}
	if task.Family == category.FamilyTabular {
		return readTabular(path, abs, st.IsDir(), exclude)
	}
	if !st.IsDir() {
		return nil, exitcode.Errorf(exitcode.Local, "%s is a file: a dataset (task %s) is a folder; give the folder you pushed", path, task.Name)
	}
	v := &localView{root: abs}
	if v.ign, err = dataset.NewIgnore(abs, exclude); err != nil {
		return nil, err
	}
	var top []string
	if task.Manifest.Listed() {
		top = append(top, dataset.LabelsFile)
	}
	if task.Family == category.FamilyText {
		top = append(top, dataset.TokenizerFile)
	}
	for _, name := range top {
		if fi, err := os.Lstat(filepath.Join(abs, name)); err == nil && fi.Mode().IsRegular() && !v.ign.Skip(abs, name, false) {
			v.files = append(v.files, datafile.File{Rel: name, Size: fi.Size(), ModTime: fi.ModTime()})
		}
	}
	odd := 0
	for _, folder := range task.Folders() {
		entries, err := os.ReadDir(filepath.Join(abs, folder))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, exitcode.Errorf(exitcode.Local, "reading %s: %w", filepath.Join(path, folder), err)
		}
		for _, e := range entries {
			rel := folder + "/" + e.Name()
			if v.ign.Skip(abs, rel, e.IsDir()) {
				continue
			}
			fi, err := e.Info()
			if err != nil || !fi.Mode().IsRegular() {
				odd++
				continue
			}
			v.files = append(v.files, datafile.File{Rel: rel, Size: fi.Size(), ModTime: fi.ModTime()})
		}
	}
	if odd > 0 {
		v.notes = append(v.notes, fmt.Sprintf("%d local entries of %s are not regular files (folders, links): push stages none of them, so they are not compared", odd, strings.Join(task.Folders(), "/, ")+"/"))
	}
	v.notes = append(v.notes, v.ign.Notes()...)
	sort.Slice(v.files, func(i, j int) bool { return v.files[i].Rel < v.files[j].Rel })
	return v, nil
}

// readTabular finds the one CSV a tabular push stages (as labels.csv): the
// file itself, or the only .csv in the folder once the exclusions apply.
func readTabular(path, abs string, isDir bool, exclude []string) (*localView, error) {
	dir, name := filepath.Dir(abs), filepath.Base(abs)
	if isDir {
		dir = abs
	}
	ign, err := dataset.NewIgnore(dir, exclude)
	if err != nil {
		return nil, err
	}
	if isDir {
		entries, err := os.ReadDir(abs)
		if err != nil {
			return nil, exitcode.Errorf(exitcode.Local, "reading %s: %w", path, err)
		}
		var csvs []string
		for _, e := range entries {
			if e.Type().IsRegular() && strings.EqualFold(filepath.Ext(e.Name()), ".csv") && !ign.Skip(abs, e.Name(), false) {
				csvs = append(csvs, e.Name())
			}
		}
		if len(csvs) != 1 {
			return nil, exitcode.Errorf(exitcode.Local, "%s holds %d .csv files: a tabular dataset is one CSV; give the file you pushed, e.g. %s", path, len(csvs), filepath.Join(path, "data.csv"))
		}
		name = csvs[0]
	}
	fi, err := os.Lstat(filepath.Join(dir, name))
	if err != nil || !fi.Mode().IsRegular() {
		return nil, exitcode.Errorf(exitcode.Local, "%s is not a regular file: give the CSV you pushed", filepath.Join(dir, name))
	}
	return &localView{root: dir, ign: ign, files: []datafile.File{{Rel: dataset.LabelsFile, Local: name, Size: fi.Size(), ModTime: fi.ModTime()}},
		notes: []string{fmt.Sprintf("%s is staged as %s", name, dataset.LabelsFile)}}, nil
}
