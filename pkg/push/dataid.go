package push

import (
	"github.com/tracebloc/kubectl-tracebloc/pkg/category"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/spec"
)

// dataIDInput parses --data-id for task. The ingestor reads column:<name>
// from the records of a CSV, so that strategy needs a task whose records
// come from one (labels.csv or the data CSV); uuid and content_hash apply
// to every task. Bad values exit 2.
func dataIDInput(task category.Task, o Options) (*spec.DataID, error) {
	d, err := spec.ParseDataID(o.DataID)
	if err != nil || d.IDColumn() == "" || task.Name == "" {
		return d, err
	}
	if k := task.Manifest.Kind; k != category.ManifestLabelsCSV && k != category.ManifestDataCSV {
		return nil, exitcode.Errorf(exitcode.BadFlags, "--data-id %s does not apply to %s: its records do not come from a CSV, so no column can give their ids; use --data-id uuid or --data-id content_hash", o.DataID, task.Name)
	}
	if o.Printer != nil {
		o.Printer.Warnf("--data-id %s: the values of column %q leave the cluster as each record's id at the tracebloc backend; make sure they are not personal data (or use --data-id content_hash)", o.DataID, d.Column)
	}
	return d, nil
}

// checkIDColumn checks the id column of an image or text dataset's
// labels.csv; a tabular CSV had it checked with its other columns.
func checkIDColumn(task category.Task, ds *dataset.Dataset, d *spec.DataID) error {
	if d.IDColumn() == "" || task.Family == category.FamilyTabular {
		return nil
	}
	return dataset.CheckIDColumn(ds.Root, d.IDColumn())
}
