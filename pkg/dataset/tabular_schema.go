package dataset

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tracebloc/kubectl-tracebloc/pkg/spec"
)

// maxRowBytes is MySQL's limit on the bytes of one row of a table, the
// columns' own sizes summed (TEXT counts its pointer only).
const maxRowBytes = 65535

// standardRowBytes is what the columns the ingestor adds to every table
// take of a row in utf8mb4: id, created_at, updated_at, status, label,
// data_intent, data_id, filename, extension, annotation, ingestor_id.
const standardRowBytes = 8 + 5 + 5 + 4 + 1022 + 402 + 1022 + 1022 + 41 + 12 + 1022

// fixedBytes are the row bytes of MySQL's types of one size.
var fixedBytes = map[string]int{"TEXT": 12, "BIGINT": 8, "DOUBLE": 8, "DATETIME": 5, "TIMESTAMP": 4, "DATE": 3, "TIME": 3,
	"FLOAT": 4, "BOOLEAN": 1, "BOOL": 1, "TINYINT": 1, "SMALLINT": 2, "MEDIUMINT": 3, "INT": 4, "INTEGER": 4}

// rowSizeProblem refuses a schema whose table MySQL cannot create: a
// row of it would be wider than 65 535 bytes (MySQL error 1118, when the
// ingestor creates the table). A VARCHAR(n) takes 4n bytes in utf8mb4.
// The label column is the table's own label, counted with the others.
func rowSizeProblem(schema spec.Schema, labelColumn string) (string, bool) {
	size, widest, widestBytes := standardRowBytes, "", 0
	for _, c := range schema {
		if c.Name == labelColumn {
			continue
		}
		n := columnBytes(c.Type.SQL)
		size += n
		if n > widestBytes {
			widest, widestBytes = c.Name, n
		}
	}
	if size <= maxRowBytes {
		return "", false
	}
	return fmt.Sprintf("a row of the table would take %d bytes, more than MySQL's %d (each VARCHAR(n) takes 4n bytes in utf8mb4; the widest column is %q): declare long text columns as TEXT in --schema (e.g. %s:TEXT), or push fewer columns",
		size, maxRowBytes, widest, widest), true
}

// columnBytes is what a column of the SQL type t takes of a row.
func columnBytes(t string) int {
	t = strings.ToUpper(strings.TrimSpace(t))
	base, rest, _ := strings.Cut(t, "(")
	base = strings.Fields(base + " ")[0]
	if base == "VARCHAR" || base == "CHAR" {
		n, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(rest, ")", 2)[0]))
		if err == nil {
			if n*4 > 255 {
				return n*4 + 2
			}
			return n*4 + 1
		}
	}
	if b, ok := fixedBytes[base]; ok {
		return b
	}
	return 16
}

// forecastColumns refuses, for time_series_forecasting, a column besides
// the time column that does not hold numbers: the ingestor's
// NumericColumnsValidator takes only numbers in a forecast's other columns
// (the label among them).
func forecastColumns(name string, o TabularOptions, probs *problemList) bool {
	if o.Task != forecastTask {
		return true
	}
	var text []string
	for _, c := range o.Schema {
		if c.Name != o.OrderColumn && c.Name != o.IDColumn && (c.Name != o.LabelColumn || !o.NumericLabel) && !c.Type.Kind.Numeric() {
			text = append(text, fmt.Sprintf("%q (%s)", c.Name, c.Type.SQL))
		}
	}
	if len(text) == 0 {
		return true
	}
	probs.add("%s has columns that do not hold numbers: %s: the ingestor takes only numbers besides %q in a forecast (its NumericColumnsValidator); encode them as numbers, or leave them out of the CSV", name, listFirst(text, 5), o.OrderColumn)
	return false
}
