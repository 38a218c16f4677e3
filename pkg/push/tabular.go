package push

import (
	"context"

	"github.com/tracebloc/kubectl-tracebloc/pkg/category"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/spec"
	"github.com/tracebloc/kubectl-tracebloc/pkg/transfer"
)

// withSchemaToCome stands a placeholder in for a schema that the CSV is
// still to give, so that the flags are judged before the file is read.
func withSchemaToCome(task category.Task, s spec.Spec) spec.Spec {
	if task.Spec.RequiresSchema && len(s.Schema) == 0 {
		s.Schema = map[string]string{"column_inferred_from_the_csv": "TEXT"}
		if g := task.Grouping; g != nil {
			s.Schema[g.GroupColumn], s.Schema[g.TimeColumn] = "VARCHAR(255)", "DATETIME"
		}
	}
	return s
}

// beforeCheck, when tests set it, runs as the dataset's check begins.
var beforeCheck func()

// checkUntil runs the dataset's check, and returns at Ctrl-C without
// waiting for its end: the check of a million texts reads each of them
// (20 s and more) and creates nothing, and the process ends with it. A
// check cache it was writing then is left under its temporary name, which
// the next check's trim removes.
func checkUntil(ctx context.Context, o LocalOptions) (*dataset.Dataset, map[string]string, error) {
	type checked struct {
		ds     *dataset.Dataset
		schema map[string]string
		err    error
	}
	done := make(chan checked, 1)
	go func() {
		if beforeCheck != nil {
			beforeCheck()
		}
		ds, schema, err := checkDataset(o)
		done <- checked{ds, schema, err}
	}()
	select {
	case c := <-done:
		return c.ds, c.schema, c.err
	case <-ctx.Done():
		return nil, nil, exitcode.Errorf(exitcode.Interrupted, "interrupted while checking the dataset: nothing was created in the cluster")
	}
}

// checkDataset runs the checks of the task's family; for a tabular task it
// also returns the schema the CSV goes with, declared or inferred.
func checkDataset(o LocalOptions) (*dataset.Dataset, map[string]string, error) {
	task, in := o.Task, o.Inputs
	switch task.Family {
	case category.FamilyText:
		to := dataset.TextOptionsFor(task, in.LabelColumn, o.Limits)
		to.Exclude = o.Exclude
		// Without a cache folder (no home folder) every text is read.
		to.CacheDir, _ = transfer.CacheDir()
		ds, err := dataset.CheckText(o.Path, to)
		if err != nil {
			return nil, nil, err
		}
		ds.Task = task.Name
		ds.Notes = append(ds.Notes, dataset.CrowdedFolders(ds.Files)...)
		return ds, nil, nil
	case category.FamilyTabular:
		to := dataset.TabularOptionsFor(task, in.LabelColumn, in.LabelPolicy, in.TimeColumn, o.Declared, o.Limits)
		to.IDColumn = in.DataID.IDColumn()
		to.Exclude = o.Exclude
		tb, err := dataset.CheckTabular(o.Path, to)
		if err != nil {
			return nil, nil, err
		}
		ds := &dataset.Dataset{Root: tb.Root, Task: task.Name, Files: []dataset.File{tb.File}, Bytes: tb.File.Size,
			Rows: tb.Rows, Labels: tb.Labels, Sequences: tb.Sequences, SchemaFlag: tb.Schema.Flag(), SchemaInferred: tb.Inferred,
			Notes: tb.Notes, Excluded: tb.Excluded}
		return ds, tb.Schema.Map(), nil
	}
	ds, err := dataset.Check(o.Path, dataset.Options{Task: task, LabelColumn: in.LabelColumn, Limits: o.Limits,
		TargetSize: in.TargetSize, MinSize: in.MinSize, NumberOfKeypoints: in.NumberOfKeypoints, Exclude: o.Exclude})
	if err == nil {
		ds.Notes = append(ds.Notes, dataset.CrowdedFolders(ds.Files)...)
	}
	return ds, nil, err
}
