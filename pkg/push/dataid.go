package push

import (
	"github.com/tracebloc/kubectl-tracebloc/pkg/category"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset"
	"github.com/tracebloc/kubectl-tracebloc/pkg/spec"
)

// checkIDColumn checks the id column of an image or text dataset's
// labels.csv; a tabular CSV had it checked with its other columns.
func checkIDColumn(task category.Task, ds *dataset.Dataset, d *spec.DataID) error {
	if d.IDColumn() == "" || task.Family == category.FamilyTabular {
		return nil
	}
	return dataset.CheckIDColumn(ds.Root, d.IDColumn())
}
