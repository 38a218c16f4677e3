package dataset

import (
	"strings"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// TestTabularReadAsTheDataValidator: a \ escape the ingest loop reads as
// one value is a field more for the Data Validator, which refuses the file
// (issue 22: img,Rome\, IT); an escape that splits nothing there passes.
func TestTabularReadAsTheDataValidator(t *testing.T) {
	base := "city,n,label\nParis,1,a\nLyon,2,b\n"
	opts := TabularOptions{LabelColumn: "label", Now: testNow, Limits: DefaultLimits}
	_, err := CheckTabular(writeCSV(t, base+"Rome\\, IT,3,a\n"), opts)
	if exitcode.Of(err) != exitcode.Local || !strings.Contains(fmtErr(err),
		`data.csv line 4 has 4 fields, read without the \ escape as the ingestor's Data Validator reads it (the header has 3)`) {
		t.Errorf("escaped comma: CheckTabular = %v", err)
	}
	if _, err := CheckTabular(writeCSV(t, base+"Rome\\X,3,a\n"), opts); err != nil {
		t.Errorf("escaped letter: CheckTabular = %v, want nil", err)
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
