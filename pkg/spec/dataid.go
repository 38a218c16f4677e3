package spec

import (
	"strings"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// The strategies of data_id, each record's identifier in the ingestor's
// table and at the tracebloc backend.
const (
	// DataIDUUID gives each record a fresh random id: nothing of the data
	// leaves the cluster, but a retried run inserts its rows again.
	DataIDUUID = "uuid"
	// DataIDContentHash derives the id from the record's content (with a
	// salt that stays in the cluster): a retried run claims its own rows
	// again, and identical rows become one.
	DataIDContentHash = "content_hash"
	// DataIDColumn takes the id from a column of the CSV; its values are
	// sent to the backend, so it must not hold personal data.
	DataIDColumn = "column"
)

// DataID is the spec's data_id: how the ingestor identifies each record.
type DataID struct {
	Strategy string `json:"strategy"`
	Column   string `json:"column,omitempty"`
}

// dataIDExamples is the fix a bad --data-id names.
const dataIDExamples = "use --data-id uuid (the default: a fresh id per record), --data-id content_hash (an id from the record's content: a retried run claims its rows again) or --data-id column:<name> (the values of that CSV column, e.g. --data-id column:id)"

// ParseDataID reads the --data-id flag: uuid, content_hash or
// column:<name>. "" is no flag (the ingestor's default, uuid). A bad value
// exits 2 with examples.
func ParseDataID(v string) (*DataID, error) {
	if v == "" {
		return nil, nil
	}
	if name, ok := strings.CutPrefix(v, DataIDColumn+":"); ok {
		if name == "" {
			return nil, exitcode.Errorf(exitcode.BadFlags, "--data-id %q names no column: write the CSV column's exact name after column:, e.g. --data-id column:id", v)
		}
		if err := CheckColumnName(name); err != nil {
			return nil, exitcode.Errorf(exitcode.BadFlags, "--data-id %q: %v", v, err)
		}
		return &DataID{Strategy: DataIDColumn, Column: name}, nil
	}
	switch v {
	case DataIDUUID, DataIDContentHash:
		return &DataID{Strategy: v}, nil
	case DataIDColumn:
		return nil, exitcode.Errorf(exitcode.BadFlags, "--data-id column needs the column's name: write --data-id column:<name>, e.g. --data-id column:id")
	}
	return nil, exitcode.Errorf(exitcode.BadFlags, "--data-id %q is not a strategy: %s", v, dataIDExamples)
}

// IDColumn is the CSV column data_id comes from, or "".
func (d *DataID) IDColumn() string {
	if d == nil || d.Strategy != DataIDColumn {
		return ""
	}
	return d.Column
}
