// Package spec turns push flags into the ingest spec and validates it against
// the embedded schema.
package spec

import (
	"fmt"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// MaxTableLen is the longest table name MySQL accepts.
const MaxTableLen = 63

// ValidateTable checks the table-name rule, the stage agent's own
// (proto.ValidTable), and words each refusal. It runs before any path is
// built from the name, because the name becomes a folder on the shared volume.
func ValidateTable(name string) error {
	switch {
	case name == "":
		return exitcode.Errorf(exitcode.BadFlags, "--table is required: name the table to stage (e.g. --table=cats_dogs)")
	case len(name) > MaxTableLen:
		return exitcode.Errorf(exitcode.BadFlags, "table %q is %d characters long: use at most %d (a MySQL table name)", name, len(name), MaxTableLen)
	case !proto.ValidTable(name):
		return exitcode.Errorf(exitcode.BadFlags, "table %q is not allowed: use letters, digits and _, not starting with a digit (e.g. --table=cats_dogs)", name)
	}
	return nil
}

// StagingRoot is where staged copies live on the shared volume: the stage
// agent's folder on its mount.
const StagingRoot = proto.SharedMount + "/" + proto.StagingDir

// StagedDir is the staged copy of table. Call it only with a validated name.
func StagedDir(table string) string {
	return fmt.Sprintf("%s/%s", StagingRoot, table)
}
