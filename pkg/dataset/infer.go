package dataset

import (
	"path/filepath"

	"github.com/tracebloc/kubectl-tracebloc/pkg/spec"
)

// InferSchema is the schema push infers for the tabular CSV at path (the
// file, or the one .csv of the folder), whether or not the rest of the
// pre-flight accepts the file: the differential test hands it to the
// ingestor for the datasets the pre-flight refuses.
func InferSchema(path string) (spec.Schema, error) {
	root, name, _, err := FindTabularCSV(path)
	if err != nil {
		return nil, err
	}
	schema, _, err := inferSchema(filepath.Join(root, name), name, "")
	return schema, err
}
