package push

import (
	"strings"

	"github.com/tracebloc/kubectl-tracebloc/pkg/category"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/spec"
)

// tabularInputs parses the tabular flags into in: the declared schema (nil
// when it is to be inferred), the label policy of the object form and the
// time column of time_to_event_prediction. Bad values exit 2.
func tabularInputs(task category.Task, o Options, in *spec.Inputs) (spec.Schema, error) {
	if task.Family != category.FamilyTabular {
		return nil, nil
	}
	if err := fixedTimeColumn(task, o); err != nil {
		return nil, err
	}
	if task.Manifest.Label == category.LabelObject {
		policy := o.LabelPolicy
		if policy == "" {
			policy = task.Spec.LabelPolicy
		}
		if err := spec.ValidatePolicy(policy); err != nil {
			return nil, err
		}
		in.LabelPolicy = policy
	}
	if task.AppliesFlag("time-column") {
		in.TimeColumn = o.TimeColumn
		if in.TimeColumn == "" {
			in.TimeColumn = spec.DefaultTimeColumn
		}
	}
	if o.Schema == "" {
		return nil, nil
	}
	declared, err := spec.ParseSchemaFor(o.Schema, o.LabelColumn, in.DataID.IDColumn())
	if err != nil {
		return nil, err
	}
	in.Schema = declared.Map()
	return declared, nil
}

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

// checkDataset runs the checks of the task's family; for a tabular task it
// also returns the schema the CSV goes with, declared or inferred.
func checkDataset(task category.Task, o Options, in spec.Inputs, declared spec.Schema) (*dataset.Dataset, map[string]string, error) {
	switch task.Family {
	case category.FamilyText:
		to := dataset.TextOptionsFor(task, o.LabelColumn, o.Limits)
		to.Exclude = o.Exclude
		ds, err := dataset.CheckText(o.Path, to)
		if err != nil {
			return nil, nil, err
		}
		ds.Task = task.Name
		ds.Notes = append(ds.Notes, dataset.CrowdedFolders(ds.Files)...)
		return ds, nil, nil
	case category.FamilyTabular:
		to := dataset.TabularOptionsFor(task, o.LabelColumn, in.LabelPolicy, in.TimeColumn, declared, o.Limits)
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
	ds, err := dataset.Check(o.Path, dataset.Options{Task: task, LabelColumn: o.LabelColumn, Limits: o.Limits,
		TargetSize: o.TargetSize, MinSize: o.MinSize, NumberOfKeypoints: o.NumberOfKeypoints, Exclude: o.Exclude})
	if err == nil {
		ds.Notes = append(ds.Notes, dataset.CrowdedFolders(ds.Files)...)
	}
	return ds, nil, err
}

// fixedTimeColumn judges --time-column for a task whose time column the
// ingestor fixes (time_series_forecasting, time_series_classification:
// timestamp). It refuses any other column there, as the ingestor does,
// and notes that naming timestamp itself is redundant.
func fixedTimeColumn(task category.Task, o Options) error {
	if o.TimeColumn == "" || task.AppliesFlag("time-column") {
		return nil
	}
	fixed := dataset.TabularOptionsFor(task, "", "", "", nil, o.Limits).OrderColumn
	if fixed == "" {
		return exitcode.Errorf(exitcode.BadFlags, "--time-column does not apply to %s: it applies to %s", task.Name, strings.Join(category.TasksWithFlag("time-column"), ", "))
	}
	if !strings.EqualFold(strings.TrimSpace(o.TimeColumn), fixed) {
		return exitcode.Errorf(exitcode.BadFlags, "--time-column %q is refused for %s: the ingestor fixes its time column as %q and refuses a spec that names another; rename the CSV's time column to %s and drop --time-column", o.TimeColumn, task.Name, fixed, fixed)
	}
	if o.Printer != nil {
		o.Printer.Notef("--time-column %q is redundant for %s: its time column is always %q", o.TimeColumn, task.Name, fixed)
	}
	return nil
}
