package dataset

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/category"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
	"github.com/tracebloc/kubectl-tracebloc/pkg/spec"
)

// Sources of the tabular rules.
const (
	srcTabCSV      = "CATEGORIES.md Common: every CSV UTF-8, no BOM for tabular data, no NUL, header with unique names, ≥ 1 data row"
	srcTabFile     = "CATEGORIES.md Tabular family: one .csv (a file, or a folder holding exactly one)"
	srcEscape      = "ingest.v1.json csv_options: pandas read_csv with escapechar '\\' by default: a backslash makes the next character plain; one ending the file fails the reader"
	srcEscapePlain = "ingestor DataValidator: reads the CSV with pandas' defaults (no escapechar) and on_bad_lines=error before the ingest loop reads it with escapechar \\ (the oracle refuses Rome\\, IT)"
	srcSchema      = "CATEGORIES.md Tabular 'schema is required … never for its reserved columns … Declared columns exist; INT/FLOAT columns hold numbers'; ingest.v1.json schema; ingestor DataValidator"
	srcTabLabel    = "CATEGORIES.md Tabular label column; ingestor LabelDiversityValidator (classification: ≥ 2 classes)"
	srcPolicy      = "ingest.v1.json label.policy: bucket bins the value, passthrough sends it raw"
	srcShortRow    = "issue 22 (the ingestor's own code): pandas pads a short row with missing values and the ingestor takes it; a note says so"
	srcNoLabel     = "issue 22 (the ingestor's own code): the ingestor stores a row without a label with a NULL label (a regression label in its 'missing' bucket); a note says so"
	srcBOM         = "issue 22 (the ingestor's own code): pandas reads the CSV as utf-8 and drops a BOM"
	srcLeftOut     = "issue 22 (the ingestor's own code): the table holds the schema's columns; the ingestor reads a column without a name, a reserved one or one the schema does not declare, and leaves it out; a note says so"
	srcDates       = "issue 22 (the ingestor's own code): DataValidator reads a date column with pandas' to_datetime, which takes the format of the first value for every value"
	srcNumbers     = "issue 22 (the ingestor's own code): pandas reads a number with blanks around it; 1e400 becomes infinity and an integer past 64 bits fails to_numeric, both refused"
	srcRowSize     = "issue 22 (the ingestor's own code, MySQL emulated): CREATE TABLE fails past 65 535 bytes a row (error 1118); a VARCHAR(n) takes 4n in utf8mb4"
	srcBool        = "issue 22 (the ingestor's own code): DataValidator and the BOOLEAN cast take true/false, yes/no, t/f, y/n in any case, 0 and 1"
	srcNoFeature   = "training: a model learns from feature columns; the ingestor would create a table of its own columns and the label alone"
	srcRegression  = "the ingestor hashes any label (bucket), but training a regression needs numbers: fails later, in training"
	srcTSF         = "CATEGORIES.md time_series_forecasting: timestamp ascending over the dataset, parses, not in the future; ingestor TimeFormat/TimeOrdered/TimeBeforeToday validators"
	srcTSFNumeric  = "issue 22 (the ingestor's own code): NumericColumnsValidator takes only numbers besides timestamp in a forecast"
	srcTSFZone     = "issue 22 (the ingestor's own code): TimeBeforeTodayValidator compares a time with a zone with today's date and fails"
	srcTSC         = "CATEGORIES.md time_series_classification + ingest.v1.json: schema declares sequence_id and timestamp; no empty ids; time ascending within each sequence; label constant within a sequence"
	srcTTE         = "CATEGORIES.md time_to_event_prediction: --time-column (default time), event/time columns valid; ingest.v1.json time_column"
	srcTTEChosen   = "CATEGORIES.md time_to_event_prediction 'event/time columns valid': the values are not published and the ingestor does not check them; an event other than 0/1 or a boolean draws a note (tabular_rules.go eventRule)"
	srcTTEGuess    = "CATEGORIES.md time_to_event_prediction '--time-column (default time)'; the ingestor's TimeToEventValidator falls back to a column named like a time; we refuse and name --time-column (chosen)"
	srcTTEMissing  = "CATEGORIES.md time_to_event_prediction 'event/time columns valid'; the ingestor's TimeToEventValidator only warns on a missing time; we refuse (chosen)"
)

// tabSetup is how a tabular case is pushed.
type tabSetup struct {
	// schema declares --schema from the argument inferred on the valid
	// dataset; nil infers it.
	schema func(inferred string) string
	label  string
	policy string
	// timeColumn is --time-column.
	timeColumn string
}

// tabularCase is a corpus case of a tabular task; setup changes the push's
// flags (nil: the defaults).
type tabularCase struct {
	name    string
	source  string
	verdict verdict
	mutate  func(t *testing.T, dir string)
	want    string
	setup   func(s *tabSetup)
}

const tabRows = 30

var tabularTasks = []string{"tabular_classification", "tabular_regression", "time_series_forecasting",
	"time_series_classification", "time_to_event_prediction"}

// tabLabel is the label column of the fixture's CSV of each task.
var tabLabel = map[string]string{
	"tabular_classification":     "label",
	"tabular_regression":         "price",
	"time_series_forecasting":    "target",
	"time_series_classification": "label",
	"time_to_event_prediction":   "event",
}

// tabHeader is the header of the fixture's CSV of each task.
var tabHeader = map[string][]string{
	"tabular_classification":     {"f1", "f2", "f3", "f4", "city", "label"},
	"tabular_regression":         {"f1", "f2", "f3", "f4", "city", "price"},
	"time_series_forecasting":    {"timestamp", "f1", "f2", "f3", "f4", "target"},
	"time_series_classification": {"sequence_id", "timestamp", "f1", "f2", "f3", "f4", "city", "label"},
	"time_to_event_prediction":   {"f1", "f2", "f3", "f4", "city", "time", "event"},
}

// columnsAfter quotes the fixture's header of task with column from renamed
// to to, or left out when to is empty, as a problem lists them.
func columnsAfter(task, from, to string) string {
	var out []string
	for _, c := range tabHeader[task] {
		switch {
		case c != from:
			out = append(out, c)
		case to != "":
			out = append(out, to)
		}
	}
	return quoteAll(out)
}

func dataCSV(dir string) string { return filepath.Join(dir, "data.csv") }

// editData rewrites data.csv through edit, which gets the header and rows.
func editData(t *testing.T, dir string, edit func(rows [][]string) [][]string) {
	t.Helper()
	f, err := os.Open(dataCSV(dir))
	must(t, err)
	rows, err := csv.NewReader(f).ReadAll()
	must(t, err)
	must(t, f.Close())
	rows = edit(rows)
	var b strings.Builder
	w := csv.NewWriter(&b)
	must(t, w.WriteAll(rows))
	writeFile(t, dataCSV(dir), b.String())
}

// setData sets a cell of data.csv; row 1 is the first data row (line 2).
func setData(column string, row int, value string) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		editData(t, dir, func(rows [][]string) [][]string {
			c := col(rows, column)
			if c < 0 {
				t.Fatalf("no column %s", column)
			}
			rows[row][c] = value
			return rows
		})
	}
}

func renameData(from, to string) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		editData(t, dir, func(rows [][]string) [][]string {
			c := col(rows, from)
			if c < 0 {
				t.Fatalf("no column %s", from)
			}
			rows[0][c] = to
			return rows
		})
	}
}

func dropData(column string) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		editData(t, dir, func(rows [][]string) [][]string {
			c := col(rows, column)
			if c < 0 {
				t.Fatalf("no column %s", column)
			}
			for i := range rows {
				rows[i] = append(rows[i][:c:c], rows[i][c+1:]...)
			}
			return rows
		})
	}
}

// rawData rewrites data.csv as bytes through edit.
func rawData(edit func(s string) string) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		writeFile(t, dataCSV(dir), edit(readFile(t, dataCSV(dir))))
	}
}

// replaceData replaces the first from in data.csv; the fixture's rows hold
// "Rome, IT" among their cities.
func replaceData(from, to string) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		s := readFile(t, dataCSV(dir))
		if !strings.Contains(s, from) {
			t.Fatalf("data.csv lacks %q", from)
		}
		writeFile(t, dataCSV(dir), strings.Replace(s, from, to, 1))
	}
}

// lineOf returns the i-th line (1-based) of s without its newline.
func lineOf(s string, i int) string { return strings.Split(s, "\n")[i-1] }

func declared(f func(string) string) func(s *tabSetup) {
	return func(s *tabSetup) { s.schema = f }
}

func asInferred(arg string) string { return arg }

func noop(*testing.T, string) {}

// swapType declares the inferred schema with one column's type changed.
func swapType(from, to string) func(s *tabSetup) {
	return declared(func(a string) string {
		if !strings.Contains(a, from) {
			panic(fmt.Sprintf("the inferred schema %s has no %s", a, from))
		}
		return strings.Replace(a, from, to, 1)
	})
}

// editLine rewrites line n of data.csv.
func editLine(n int, edit func(l string) string) func(t *testing.T, dir string) {
	return rawData(func(s string) string {
		lines := strings.Split(s, "\n")
		lines[n-1] = edit(lines[n-1])
		return strings.Join(lines, "\n")
	})
}

// tabularCommonCases hold for every tabular task.
func tabularCommonCases(task string) []tabularCase {
	label := tabLabel[task]
	width := len(tabHeader[task])
	f1 := slices.Index(tabHeader[task], "f1") + 1
	cases := []tabularCase{
		{"valid, schema inferred", "", accepted, noop, "", nil},
		{"valid, schema declared", srcSchema, accepted, noop, "", declared(asInferred)},
		{"missing feature values", srcSchema, accepted, func(t *testing.T, dir string) {
			setData("f2", 3, "NA")(t, dir)
			setData("f3", 4, "")(t, dir)
		}, "", declared(asInferred)},
		{"folder with the one CSV and more", srcTabFile, accepted, func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "README.md"), "x")
		}, "", nil},
		{"empty file", srcTabCSV, refused, rawData(func(string) string { return "" }), "data.csv is empty: it needs a header and at least one row", nil},
		{"header without rows", srcTabCSV, refused, rawData(func(s string) string { return lineOf(s, 1) + "\n" }),
			"data.csv has a header but no rows: add at least one row", nil},
		{"byte order mark", srcBOM, accepted, rawData(func(s string) string { return "\xef\xbb\xbf" + s }), "", nil},
		{"byte order mark, schema declared", srcBOM, accepted, rawData(func(s string) string { return "\xef\xbb\xbf" + s }), "", declared(asInferred)},
		{"Latin-1 text", srcTabCSV, refused, setData("f4", 2, "K\xf6ln"), "data.csv line 3 is not valid UTF-8: save the file as CSV UTF-8", nil},
		{"NUL byte", srcTabCSV, refused, setData("f4", 3, "Pa\x00ris"), "data.csv line 4 holds a NUL byte: this looks like a UTF-16 or binary file; save it as CSV UTF-8", nil},
		{"unclosed quote", srcTabCSV, refused, rawData(func(s string) string { return s + "\"unclosed,1\n" }),
			"data.csv line 32 opens a quoted field that is never closed", nil},
		{"column named twice", srcTabCSV, refused, renameData("f2", "f1"),
			fmt.Sprintf(`data.csv names the column "f1" twice (columns %d and %d): column names must be unique`, f1, f1+1), nil},
		{"column without a name", srcLeftOut, accepted, renameData("f3", ""), fmt.Sprintf("column %d of data.csv has no name: the ingestor leaves it out of the table", f1+2), nil},
		{"a comma ending every line", srcLeftOut, accepted, rawData(func(s string) string { return strings.ReplaceAll(s, "\n", ",\n") }),
			fmt.Sprintf("column %d of data.csv has no name", width+1), nil},
		{"two columns without a name", srcTabCSV, refused, func(t *testing.T, dir string) {
			renameData("f3", "")(t, dir)
			renameData("f4", "")(t, dir)
		}, fmt.Sprintf("data.csv has 2 columns without a name (columns %d, %d): the ingestor refuses a header that repeats a name", f1+2, f1+3), nil},
		{"reserved column", srcLeftOut, accepted, renameData("f1", "id"),
			`data.csv has columns the ingestor reserves for itself: "id": it leaves them out of the table`, nil},
		{"label column missing", srcTabLabel, refused, dropData(label),
			`data.csv has no label column "` + label + `"; its columns are ` + columnsAfter(task, label, "") + ": name the right one with --label-column", nil},
		{"row with a field too many", srcCSVRow, skipped, editLine(7, func(l string) string { return "9," + l }),
			fmt.Sprintf("data.csv line 7 has %d fields, the header has %d: every row needs one value per column (quote a value that holds a comma)", width+1, width), nil},
		{"every row with a field too many", srcCSVRow, refused, rawData(func(s string) string {
			lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
			for i := 1; i < len(lines); i++ {
				lines[i] += ",9"
			}
			return strings.Join(lines, "\n") + "\n"
		}), "data.csv line 2 has ", nil},
		{"a backslash ending the file", srcEscape, refused, rawData(func(s string) string { return s + `9\` }),
			`ends the file with a \ (the escape character), which escapes nothing`, nil},
		{"unclosed quote on the first row", srcTabCSV, refused, rawData(func(s string) string { return lineOf(s, 1) + "\n\"never closed,1\n" }),
			"data.csv line 2 opens a quoted field that is never closed", nil},
		{"row with a field too few", srcShortRow, accepted, editLine(8, func(l string) string { return l[:strings.LastIndex(l, ",")] }),
			"1 rows of data.csv have fewer fields than the header (the first on line 8): the ingestor reads the missing ones as empty values", nil},
		{"declared column missing", srcSchema, refused, noop,
			`--schema declares "extra", which data.csv does not have; its columns are ` + columnsAfter(task, "", "") + ": declare only the CSV's columns",
			declared(func(a string) string { return a + ",extra:INT" })},
		{"undeclared column", srcLeftOut, accepted, noop,
			"data.csv has columns --schema does not declare: f4: the ingestor leaves them out of the table; declare them to keep them",
			declared(func(a string) string { return strings.Replace(a, ",f4:DOUBLE", "", 1) })},
		{"INT column holds a word", srcSchema, refused, setData("f1", 3, "many"),
			`data.csv line 4: "f1" is "many", not a whole number (INT): fix the value, or declare the column with another type in --schema`,
			declared(asInferred)},
		{"FLOAT column holds a date", srcSchema, refused, setData("f2", 4, "2024-01-01"), `data.csv line 5: "f2" is "2024-01-01", not a number`,
			declared(asInferred)},
		{"row without a label", srcNoLabel, accepted, setData(label, 9, ""), `1 rows of data.csv have no "` + label + `" (the first on line 10): the ingestor stores them without a label`, nil},
		{"an integer with blanks around it", srcNumbers, accepted, setData("f1", 3, " 42 "), "", declared(asInferred)},
		{"1e400 among numbers", srcNumbers, refused, setData("f2", 3, "1e400"),
			`data.csv line 4: "f2" is "1e400", not a number (DOUBLE), beyond what pandas reads as a number`, nil},
		{"an integer past 64 bits", srcNumbers, refused, setData("f1", 3, "99999999999999999999"),
			`data.csv line 4: "f1" is "99999999999999999999", not a number (DOUBLE), beyond what pandas reads as a number`, nil},
		{"a table too wide for a MySQL row", srcRowSize, refused, noop, "a row of the table would take ",
			swapType("f4:DOUBLE", "f4:VARCHAR(16000)")},
	}
	if task != "time_series_forecasting" {
		// A forecast has no text column: the ingestor takes numbers only.
		cases = append(cases,
			tabularCase{"a date column in two shapes", srcDates, refused, addData("day", func(i int) string { return []string{"2024-01-%02d", "2024-01-%02d 10:00:00"}[i%2] }),
				`data.csv line 3: "day" is "2024-01-02 10:00:00", written another way than its first value "2024-01-01" (line 2)`, nil},
			tabularCase{"a date column with - and /", srcDates, refused, addData("day", func(i int) string { return []string{"2024-01-%02d", "2024/01/%02d"}[i%2] }),
				`data.csv line 3: "day" is "2024/01/02", written another way than its first value "2024-01-01" (line 2)`, nil},
			tabularCase{"yes and no as BOOLEAN", srcBool, accepted, addData("flag", func(i int) string { return []string{"yes", "No", " y ", "F"}[i%4] }), "",
				declared(func(a string) string { return a + ",flag:BOOLEAN" })},
			tabularCase{"VARCHAR too short for its values", srcSchema, refused, noop, `data.csv line 2: "city" is`,
				swapType("city:VARCHAR(255)", "city:VARCHAR(3)")},
			tabularCase{"a comma escaped with a backslash", srcEscapePlain, refused, replaceData(`"Rome, IT"`, `Rome\, IT`),
				`read without the \ escape as the ingestor's Data Validator reads it`, nil},
			tabularCase{"a quote escaped with a backslash", srcEscape, accepted, replaceData(`"Rome, IT"`, `Rome \"IT\"`), "", nil},
			tabularCase{"an unescaped comma where the writer meant an escape", srcCSVRow, skipped, replaceData(`"Rome, IT"`, `Rome, IT`),
				fmt.Sprintf("has %d fields, the header has %d", width+1, width), nil})
	}
	return cases
}

// addData adds a last column to data.csv; value(i) is row i's value, with
// one %02d for the row's day.
func addData(column string, value func(i int) string) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		editData(t, dir, func(rows [][]string) [][]string {
			rows[0] = append(rows[0], column)
			for i, r := range rows[1:] {
				v := value(i)
				if strings.Contains(v, "%02d") {
					v = fmt.Sprintf(v, 1+i%28)
				}
				rows[i+1] = append(r, v)
			}
			return rows
		})
	}
}

var tabularParity = map[string][]tabularCase{
	"tabular_classification": {
		{"no feature column, only a reserved one", srcNoFeature, stricter, rawData(func(string) string {
			return "filename,label\na.jpg,cat\nb.jpg,dog\n"
		}), `data.csv has no feature column, only "filename", "label": a model learns the label from the other columns`, nil},
		{"one class", srcTabLabel, refused, func(t *testing.T, dir string) {
			editData(t, dir, func(rows [][]string) [][]string {
				for _, r := range rows[1:] {
					r[len(r)-1] = "yes"
				}
				return rows
			})
		}, `every row of data.csv has the same label "yes": a classifier needs at least 2 label values`, nil},
	},
	"tabular_regression": {
		{"text labels binned", srcRegression, stricter, setData("price", 1, "cheap"),
			`label "price" is VARCHAR(255), but tabular_regression predicts a number: fix the values that are not numbers (or declare it as one, e.g. price:DOUBLE), or use --label-policy passthrough`, nil},
		{"text labels passed through", srcPolicy, accepted, setData("price", 1, "cheap"), "", func(s *tabSetup) { s.policy = spec.PolicyPassthrough }},
	},
	"time_series_forecasting": {
		{"rows out of time order", srcTSF, refused, setData("timestamp", 5, "2023-12-31 00:00:00"),
			`data.csv line 6: "timestamp" "2023-12-31 00:00:00" comes before "2024-01-01 00:00:03" on line 5: sort the rows by timestamp, oldest first`, nil},
		{"time in the future", srcTSF, refused, setData("timestamp", tabRows, "2031-01-01 00:00:00"),
			`data.csv line 31: "timestamp" is "2031-01-01 00:00:00", not before today: the ingestor takes a forecast's history only up to yesterday`, nil},
		{"time that does not parse", srcTSF, refused, setData("timestamp", 2, "01/02/2024 00:00"),
			`data.csv line 3: "timestamp" is "01/02/2024 00:00", not a date and time (YYYY-MM-DD HH:MM:SS) (TIMESTAMP): fix the value, or declare the column with another type in --schema`,
			declared(asInferred)},
		{"no timestamp column", srcTSF, refused, renameData("timestamp", "date"),
			`data.csv has no time column "timestamp"; its columns are ` + columnsAfter("time_series_forecasting", "timestamp", "date") + ": the ingestor orders the rows by that exact column name; rename your time column to timestamp", nil},
		{"timestamp declared as text", srcTSF, refused, noop, `"timestamp" is VARCHAR(32): it must hold times`,
			swapType("timestamp:TIMESTAMP", "timestamp:VARCHAR(32)")},
		{"equal times", srcTSF, accepted, setData("timestamp", 2, "2024-01-01 00:00:00"), "", nil},
		{"a text feature", srcTSFNumeric, refused, addData("city", func(i int) string { return []string{"Paris", "Oslo"}[i%2] }),
			`data.csv has columns that do not hold numbers: "city" (VARCHAR(255)): the ingestor takes only numbers besides "timestamp" in a forecast`, nil},
		{"times ending in Z", srcTSFZone, refused, setData("timestamp", 1, "2024-01-01T00:00:00Z"),
			`data.csv line 2: "timestamp" is "2024-01-01T00:00:00Z", a time with a zone`, declared(asInferred)},
	},
	"time_series_classification": {
		{"sequence out of time order", srcTSC, refused, setData("timestamp", 12, "2023-12-31 00:00:00"),
			`data.csv line 13: sequence "s1" has "timestamp" "2023-12-31 00:00:00" after "2024-01-01 00:00:01" on line 3: sort each sequence's rows by timestamp, oldest first`, nil},
		{"label changes within a sequence", srcTSC, refused, setData("label", 13, "run"),
			`data.csv line 14: sequence "s2" has label "run", but "walk" on line 4: a sequence has one label, on every one of its rows`, nil},
		{"empty sequence id", srcTSC, refused, setData("sequence_id", 4, ""), `data.csv line 5 has no value in "sequence_id": every row needs one`, nil},
		{"no sequence_id column", srcTSC, refused, renameData("sequence_id", "patient"), `data.csv has no sequence column "sequence_id"`, nil},
		{"no timestamp column", srcTSC, refused, renameData("timestamp", "step"), `data.csv has no time column "timestamp"`, nil},
		{"one class", srcTabLabel, refused, func(t *testing.T, dir string) {
			editData(t, dir, func(rows [][]string) [][]string {
				for _, r := range rows[1:] {
					r[len(r)-1] = "walk"
				}
				return rows
			})
		}, `every row of data.csv has the same label "walk"`, nil},
		{"numeric steps", srcTSC, accepted, func(t *testing.T, dir string) {
			editData(t, dir, func(rows [][]string) [][]string {
				for i, r := range rows[1:] {
					r[1] = string(rune('0' + i/10))
				}
				return rows
			})
		}, "", nil},
	},
	"time_to_event_prediction": {
		{"negative time", srcTTE, refused, setData("time", 3, "-2.5"),
			`data.csv line 4: "time" is "-2.5", a negative time to event: times count from the start of observation, 0 or more`, nil},
		{"time declared as text", srcTTE, refused, noop, `time-to-event column "time" is VARCHAR(8): it must hold numbers (a duration), declare it as INT or DOUBLE`,
			swapType("time:DOUBLE", "time:VARCHAR(8)")},
		// The ingestor, not finding the time column, falls back to a column
		// named like a time (duration, timestamp, time_to_event); we ask for
		// the name instead of guessing.
		{"no time column", srcTTEGuess, stricter, renameData("time", "duration"), `data.csv has no time-to-event column "time"`, nil},
		{"--time-column names it", srcTTE, accepted, renameData("time", "duration"), "", func(s *tabSetup) { s.timeColumn = "duration" }},
		{"label is the time column", srcTTE, refused, noop, `the label column and the time-to-event column are both "time"`,
			func(s *tabSetup) { s.label = "time" }},
		{"row without a time", srcTTEMissing, stricter, setData("time", 5, ""), `data.csv line 6 has no value in "time"`, nil},
		{"event 2", srcTTEChosen, accepted, setData("event", 6, "2"), `1 rows of data.csv have an event "event" that is not 0 or 1 (the first, line 7: "2")`, nil},
		{"event -1", srcTTEChosen, accepted, setData("event", 7, "-1"), `(the first, line 8: "-1")`, nil},
		{"event 0.5", srcTTEChosen, accepted, setData("event", 8, "0.5"), `(the first, line 9: "0.5")`,
			swapType("event:INT", "event:DOUBLE")},
		{"event yes, passed through", srcTTEChosen, accepted, setData("event", 2, "yes"), "",
			func(s *tabSetup) { s.policy = spec.PolicyPassthrough }},
		{"events as booleans, passed through", srcTTEChosen, accepted, func(t *testing.T, dir string) {
			editData(t, dir, func(rows [][]string) [][]string {
				for i, r := range rows[1:] {
					r[len(r)-1] = []string{"true", "False"}[i%2]
				}
				return rows
			})
		}, "", func(s *tabSetup) { s.policy = spec.PolicyPassthrough }},
		{"events 1.0 and 0.0", srcTTEChosen, accepted, setData("event", 1, "1.0"), "", nil},
	},
}

// TestTabularParity: for every tabular task, the pre-flight gives the
// ingestor's verdict on each case of the corpus, and names the problem.
func TestTabularParity(t *testing.T) {
	for _, taskName := range tabularTasks {
		task, ok := category.Lookup(taskName)
		if !ok {
			t.Fatalf("no task %s", taskName)
		}
		tcases := append(tabularCommonCases(taskName), tabularParity[taskName]...)
		build := func(t *testing.T) string {
			dir := t.TempDir()
			if _, err := fixture.WriteTabular(dataCSV(dir), fixture.TabularOptions{Task: taskName, Rows: tabRows, Seed: 1}); err != nil {
				t.Fatal(err)
			}
			return dir
		}
		setupOf := func(c tabularCase) tabSetup {
			s := tabSetup{label: tabLabel[taskName], timeColumn: "time"}
			if task.Manifest.Label == category.LabelObject {
				s.policy = spec.PolicyBucket
			}
			if c.setup != nil {
				c.setup(&s)
			}
			return s
		}
		// The schema a declared case edits: the one inferred on the valid dataset.
		pristine, err := CheckTabular(build(t), TabularOptionsFor(task, tabLabel[taskName], setupOf(tabularCase{}).policy, "time", nil, DefaultLimits))
		if err != nil {
			t.Fatalf("%s: the fixture does not pass: %v", taskName, err)
		}
		inferred := pristine.Schema.Arg()
		cases := make([]corpusCase, len(tcases))
		for i, c := range tcases {
			cases[i] = corpusCase{c.name, c.source, c.verdict, c.mutate, c.want}
		}
		runCorpusWith(t, taskName, cases, build, func(t *testing.T, dir string, i int) ([]string, error) {
			s := setupOf(tcases[i])
			var schema spec.Schema
			if s.schema != nil {
				schema = mustSchema(t, s.schema(inferred))
			}
			o := TabularOptionsFor(task, s.label, s.policy, s.timeColumn, schema, DefaultLimits)
			o.Now = testNow
			tb, err := CheckTabular(dir, o)
			if err != nil {
				return nil, err
			}
			if tb.Rows != tabRows {
				t.Errorf("Rows = %d, want %d", tb.Rows, tabRows)
			}
			return tb.Notes, nil
		})
	}
}
