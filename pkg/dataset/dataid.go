package dataset

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tracebloc/kubectl-tracebloc/pkg/csvread"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// CheckIDColumn checks labels.csv under root for the column data_id comes
// from (--data-id column:<name>) in an image or text dataset: the column
// must be there and every row must hold a value. The ingestor reads a
// missing value as the text "nan", so every such row would share one id.
// Tabular data checks its id column with the rest of the CSV (IDColumn).
func CheckIDColumn(root, column string) error {
	f, err := openRead(filepath.Join(root, LabelsFile))
	if err != nil {
		return exitcode.Errorf(exitcode.Local, "opening %s: %w", LabelsFile, err)
	}
	defer f.close()
	// The same dialect the rest of the pre-flight reads labels.csv with.
	s := csvread.NewStream(f, LabelsFile)
	raw, err := s.Read()
	if err != nil {
		// The dataset's own check read this header already; what fails
		// here failed there first.
		return exitcode.Errorf(exitcode.Local, "reading the header of %s: %w", LabelsFile, err)
	}
	header := make([]string, len(raw))
	for i, h := range raw {
		// The ingestor strips header names before it looks a column up.
		header[i] = strings.TrimSpace(string(h))
	}
	at := slices.Index(header, column)
	if at < 0 {
		return idProblem(root, "%s has no column %q for --data-id column:%s; its columns are %s: name the right one with --data-id column:<name>", LabelsFile, column, column, quoteAll(header))
	}
	var empty sample
	for {
		rec, err := s.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return exitcode.Errorf(exitcode.Local, "reading %s: %w", LabelsFile, err)
		}
		// The ingestor strips the id: white space alone is no id either.
		if at >= len(rec) || slices.Contains(naValues, string(rec[at])) || strings.TrimSpace(string(rec[at])) == "" {
			empty.addLine(s.Line())
		}
	}
	if empty.n > 0 {
		return idProblem(root, "%s has no value in the data_id column %q on %d rows (%s): every record needs its own id; fill them in, or push with --data-id content_hash", LabelsFile, column, empty.n, empty.String())
	}
	return nil
}

func idProblem(root, format string, args ...any) error {
	return exitcode.Wrap(exitcode.Local, &Problems{Root: root, List: []string{fmt.Sprintf(format, args...)}})
}
