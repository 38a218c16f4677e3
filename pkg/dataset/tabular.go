package dataset

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/category"
	"github.com/tracebloc/kubectl-tracebloc/pkg/csvread"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/spec"
)

// InferRows is how many rows a schema is inferred from: the ingestor's own
// inference sample.
const InferRows = 5000

// DefaultMaxProblems is how many problems with a line number a tabular
// check lists before it only counts them.
const DefaultMaxProblems = 20

// maxLabelValues bounds the distinct labels counted, so memory stays
// constant on a CSV whose label column is not a class at all.
const maxLabelValues = 10000

// futureSlack lets a time without a zone, read as UTC, be up to the
// furthest zone's offset ahead of now without being "in the future".
const futureSlack = 14 * time.Hour

// TabularOptions say what a tabular or time-series task needs of its CSV.
type TabularOptions struct {
	Task        string
	LabelColumn string
	// NumericLabel: the label is binned (policy bucket), so it must be a number.
	NumericLabel bool
	// MinLabels is how many distinct labels the task needs (0: no rule).
	MinLabels int
	// Schema is the declared schema; nil infers one from the first InferRows rows.
	Schema spec.Schema
	// OrderColumn holds times that ascend over the dataset, or within each
	// group when GroupColumn is set; empty: no order rule.
	OrderColumn string
	// GroupColumn holds the sequence each row belongs to; empty: no groups.
	GroupColumn string
	// DurationColumn holds non-negative numbers (time to event); empty: none.
	DurationColumn string
	// EventColumn holds whether the event happened: 0 or 1, or a boolean
	// (time to event); empty: none.
	EventColumn string
	// IDColumn gives each record its data_id (--data-id column:<name>):
	// every row needs a value, and the ingestor keeps the column out of the
	// table, so it may carry a reserved name; empty: none.
	IDColumn    string
	MaxProblems int
	Now         time.Time
	Limits      Limits
	// Exclude are the --exclude patterns: in a folder, what they match is
	// not counted as a CSV.
	Exclude []string
	// untyped: the schema was inferred from no good row, so the header
	// check does not hold the columns' types to their roles; the scan
	// reports the broken rows.
	untyped bool
}

// Tabular is a checked tabular dataset.
type Tabular struct {
	// Root is the folder the CSV is in; File.Local is its name there, and
	// File.Rel is labels.csv, the name it is staged as.
	Root     string
	File     File
	Columns  []string
	Schema   spec.Schema
	Inferred bool
	Rows     int
	// Sequences counts the distinct groups (time_series_classification).
	Sequences int
	// Labels counts the rows of each label value (classification tasks).
	Labels map[string]int
	// Excluded counts by pattern the files of the folder left out.
	Excluded []Exclusion
	Notes    []string
}

// problemList keeps the first max problems with a line and counts the rest.
type problemList struct {
	max   int
	list  []string
	more  int
	lines int
}

func (p *problemList) add(format string, args ...any) {
	p.list = append(p.list, fmt.Sprintf(format, args...))
}

// nextRecord reads the next row of s. A problem of the stream is reported
// with its line; the row is then skipped (good false), unless the problem
// ends the read (more false), as the end of the file does.
func nextRecord(s recordReader, probs *problemList) (rec [][]byte, good, more bool) {
	rec, err := s.Read()
	if err == nil {
		return rec, true, true
	}
	if errors.Is(err, io.EOF) {
		return nil, false, false
	}
	if err != nil {
		probs.atLine("%s", csvStreamProblem(err))
		var ce *csvread.Error
		return nil, false, errors.As(err, &ce) && !ce.Fatal
	}
	return rec, true, true
}

func (p *problemList) atLine(format string, args ...any) {
	p.lines++
	if p.lines > p.max {
		p.more++
		return
	}
	p.add(format, args...)
}

func (p *problemList) result(root string) error {
	if p.more > 0 {
		p.add("and %d more problems of the kind above: fix those and check again", p.more)
	}
	if len(p.list) == 0 {
		return nil
	}
	return exitcode.Wrap(exitcode.Local, &Problems{Root: root, List: p.list})
}

// FindTabularCSV resolves the CSV of a tabular task: path is the CSV file,
// or a folder holding exactly one .csv file.
func FindTabularCSV(path string) (root, name string, notes []string, err error) {
	root, name, notes, _, err = findTabularCSV(path, nil)
	return root, name, notes, err
}

// findTabularCSV is FindTabularCSV leaving out, in a folder, the leftovers
// and what exclude and the folder's .traceblocignore match.
func findTabularCSV(path string, exclude []string) (root, name string, notes []string, ign *Ignore, err error) {
	fail := func(format string, args ...any) (string, string, []string, *Ignore, error) {
		return "", "", nil, nil, exitcode.Wrap(exitcode.Local, &Problems{Root: path, List: []string{fmt.Sprintf(format, args...)}})
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fail("%v", err)
	}
	st, err := os.Lstat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fail("no such file or folder: give the CSV file, or a folder that holds exactly one .csv file")
	case err != nil:
		return fail("%v", err)
	case st.Mode()&fs.ModeSymlink != 0:
		return fail("is a symbolic link: give the real file or folder (links are refused, they can point anywhere)")
	case st.Mode().IsRegular():
		if !strings.EqualFold(filepath.Ext(abs), ".csv") {
			return fail("is not a .csv file: a tabular dataset is one CSV file (comma-separated, UTF-8)")
		}
		return filepath.Dir(abs), filepath.Base(abs), nil, nil, nil
	case !st.IsDir():
		return fail("is not a regular file or folder")
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return fail("%v", err)
	}
	if ign, err = NewIgnore(abs, exclude); err != nil {
		return "", "", nil, nil, err
	}
	var csvs, links, other []string
	for _, e := range entries {
		switch {
		case e.Name() == IgnoreFile || ign.Skip(abs, e.Name(), e.IsDir()):
		case e.Type()&fs.ModeSymlink != 0 && strings.EqualFold(filepath.Ext(e.Name()), ".csv"):
			links = append(links, e.Name())
		case e.Type().IsRegular() && strings.EqualFold(filepath.Ext(e.Name()), ".csv"):
			csvs = append(csvs, e.Name())
		default:
			other = append(other, e.Name())
		}
	}
	switch {
	case len(links) > 0 && len(csvs) == 0:
		return fail("%s is a symbolic link: copy the real file into the folder (links are refused, they can point anywhere)", links[0])
	case len(csvs) == 0:
		return fail("holds no .csv file: a tabular dataset is one CSV file; give its path or the folder that holds it")
	case len(csvs) > 1:
		return fail("holds %d .csv files (%s): a tabular dataset is one CSV; give the file itself, e.g. %s", len(csvs), listFirst(csvs, 5), filepath.Join(path, csvs[0]))
	}
	if len(other)+len(links) > 0 {
		notes = append(notes, fmt.Sprintf("not staged (only %s is): %s", csvs[0], listFirst(append(other, links...), 5)))
	}
	return abs, csvs[0], append(notes, ign.Notes()...), ign, nil
}

// CheckTabular checks the tabular CSV at path (a file, or a folder holding
// one) for a task, streaming it in constant memory. A schema is inferred
// when none is declared. Every problem (the first MaxProblems with a line)
// is reported at once; the error exits 3.
func CheckTabular(path string, o TabularOptions) (*Tabular, error) {
	if o.MaxProblems <= 0 {
		o.MaxProblems = DefaultMaxProblems
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	root, name, notes, ign, err := findTabularCSV(path, o.Exclude)
	if err != nil {
		return nil, err
	}
	full := filepath.Join(root, name)
	st, err := os.Stat(full)
	if err != nil {
		return nil, exitcode.Errorf(exitcode.Local, "reading %s: %w", full, err)
	}
	tb := &Tabular{Root: root, File: File{Rel: LabelsFile, Local: name, Size: st.Size(), ModTime: st.ModTime()}, Notes: notes, Excluded: ign.Exclusions()}
	probs := &problemList{max: o.MaxProblems}
	if msg, over := o.Limits.over(st.Size()); over {
		probs.add("%s", msg)
	}
	if o.Schema == nil {
		s, untyped, err := inferSchema(full, name, o.IDColumn)
		if errors.Is(err, errNoRows) {
			probs.add("%s has a header but no rows: add at least one row", name)
			return nil, probs.result(path)
		}
		if err != nil {
			probs.add("%s", err)
			return nil, probs.result(path)
		}
		o.Schema, tb.Inferred, o.untyped = s, true, untyped
	}
	forecastSchema(&o, tb.Inferred, name, probs)
	tb.Schema = o.Schema
	if err := scanTabular(full, name, o, tb, probs); err != nil {
		return nil, err
	}
	if err := probs.result(path); err != nil {
		return nil, err
	}
	return tb, nil
}

// errNoRows: the CSV has a header and no row to infer its schema from.
var errNoRows = errors.New("no rows")

// inferSchema reads the header and the first InferRows rows and picks each
// column's type. Reserved columns are left out (the header check refuses
// them) unless one is idColumn, which gives data_id.
func inferSchema(full, name, idColumn string) (schema spec.Schema, untyped bool, err error) {
	f, err := openRead(full)
	if err != nil {
		return nil, false, fmt.Errorf("opening %s: %w", name, err)
	}
	defer f.close()
	s := csvread.NewStream(f, name)
	header, err := s.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, false, fmt.Errorf("%s is empty: it needs a header and at least one row", name)
		}
		return nil, false, err
	}
	cols := make([]string, len(header))
	for i, h := range header {
		cols[i] = string(h)
	}
	guesses := make([]typeGuess, len(cols))
	rows, read, broke := 0, 0, false
	for rows < InferRows {
		rec, err := s.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		read++
		var ce *csvread.Error
		if errors.As(err, &ce) && !ce.Fatal {
			continue
		}
		if err != nil {
			// The full scan reports it, with its line.
			broke = true
			break
		}
		if len(rec) != len(cols) {
			// The ingestor drops such a row before it infers; the full
			// scan reports it.
			continue
		}
		rows++
		for i := range len(cols) {
			guesses[i].add(rec[i])
		}
	}
	if rows == 0 && read == 0 && !broke {
		// Without a row every column would be text: the problem is the
		// missing rows.
		return nil, false, errNoRows
	}
	var out spec.Schema
	seen := map[string]bool{}
	for i, c := range cols {
		if c == "" || c != idColumn && spec.IsReserved(c) || seen[c] {
			continue
		}
		seen[c] = true
		t, err := spec.ParseType(guesses[i].sql())
		if err != nil {
			return nil, false, err
		}
		out = append(out, spec.Column{Name: c, Type: t})
	}
	// Without a good row every column reads as text: its type says nothing.
	return out, rows == 0, nil
}

// colCheck is what the scan checks of one CSV column.
type colCheck struct {
	name     string
	declared bool
	typ      spec.ColumnType
	required bool
	// id is the data_id column: the ingestor strips its value and skips a
	// row whose id is then empty, so white space alone is no id.
	id bool
	// otherDates: a declared DATE or DATETIME column that is not the time
	// column of a time series may hold dates written otherwise than year
	// first (tabular_dates.go).
	otherDates bool
}

// fitsType tells whether v (not missing) fits the column's type.
func (c *colCheck) fitsType(v []byte) bool {
	return validValue(v, &c.typ) || (c.otherDates && (isOtherDate(v) || twoDigitYearDate(v)))
}

// orderKey is a time or step, comparable whatever the column's type.
type orderKey struct {
	t     stamp
	n     float64
	time  bool
	valid bool
}

func (a orderKey) before(b orderKey) bool {
	if a.time {
		return a.t.before(b.t)
	}
	return a.n < b.n
}

// scanTabular reads the header and every row of the CSV: the cells of each
// row against the columns' types (a batch at a time where it can), then
// the task's row rules (tabularRules).
func scanTabular(full, name string, o TabularOptions, tb *Tabular, probs *problemList) error {
	f, err := openRead(full)
	if err != nil {
		return exitcode.Errorf(exitcode.Local, "opening %s: %w", full, err)
	}
	defer f.close()
	s := csvread.NewStream(f, name)
	header, err := s.Read()
	if errors.Is(err, io.EOF) {
		probs.add("%s is empty: it needs a header and at least one row", name)
		return nil
	}
	if err != nil {
		probs.add("%s", csvStreamProblem(err))
		return nil
	}
	// A BOM is no problem: the ingestor's reader (pandas) drops it, as
	// the stream does.
	for _, h := range header {
		c := string(h)
		if !tb.Inferred {
			// The ingestor strips the header's names before it matches
			// them to the declared schema. (An inferred schema keeps the
			// names as written, which the header check refuses.)
			c = strings.TrimSpace(c)
		}
		tb.Columns = append(tb.Columns, c)
	}
	checks, ok := checkTabularHeader(name, tb.Columns, o, tb, probs)
	if !ok {
		return nil
	}
	scan := &tabScan{name: name, o: o, tb: tb, checks: checks, probs: probs}
	var rules []rowRule
	for _, newRule := range tabularRules {
		if r := newRule(scan); r != nil {
			rules = append(rules, r)
		}
	}
	padded := make([][]byte, len(checks))
	short, firstShort := 0, 0
	tooWide := false
	rows := readAhead(s, checks)
	defer rows.Close()
	for {
		rec, good, more := nextRecord(rows, probs)
		if !more {
			break
		}
		if !good {
			continue
		}
		tb.Rows++
		line := rows.Line()
		if len(rec) > len(checks) {
			probs.atLine("%s line %d has %d fields, the header has %d: every row needs one value per column (quote a value that holds a comma)", name, line, len(rec), len(checks))
			tooWide = true
			continue
		}
		if len(rec) < len(checks) {
			// pandas fills the missing fields of a short row with
			// missing values, and the ingestor takes the row.
			short++
			if firstShort == 0 {
				firstShort = line
			}
			clear(padded[copy(padded, rec):])
			rec = padded
		}
		// The cell checks may have run already, a batch of rows at a
		// time (fitBatch, which must follow them): then no cell has a
		// problem to report.
		if !rows.Fit() {
			checkCells(name, line, rec, checks, probs)
		}
		for _, r := range rules {
			r.row(line, rec)
		}
	}
	// The ingestor's Data Validator reads the file again without the \
	// escape; rows.Close ends the reading of s first.
	// A row too wide in the first reading is refused already; one
	// message for it is enough.
	rows.Close()
	if s.Escaped() && !tooWide {
		if msg := plainRagged(full, name, len(checks)); msg != "" {
			probs.add("%s", msg)
		}
	}
	for _, r := range rules {
		r.finish()
	}
	if short > 0 {
		tb.Notes = append(tb.Notes, fmt.Sprintf("%d rows of %s have fewer fields than the header (the first on line %d): the ingestor reads the missing ones as empty values; check the export", short, name, firstShort))
	}
	if tb.Rows == 0 && len(probs.list) == 0 {
		probs.add("%s has a header but no rows: add at least one row", name)
	}
	return nil
}

// checkCells holds each cell of a row to its column's type and role, and
// reports the ones that do not fit. cellFits is the same test without the
// reports.
func checkCells(name string, line int, rec [][]byte, checks []colCheck, probs *problemList) {
	for i, v := range rec {
		c := &checks[i]
		if !c.declared {
			continue
		}
		// A cell that fits its type raises no problem, missing-value
		// word or not, unless its column is required: for most cells
		// the fit is the only test.
		if c.id && !isMissing(v) && isBlank(v) {
			probs.atLine("%s line %d holds only white space in the data_id column %q: the ingestor strips an id and skips a row left without one; give every row an id, or push with --data-id content_hash", name, line, c.name)
			continue
		}
		if !c.required && c.fitsType(v) {
			continue
		}
		if isMissing(v) {
			if c.required {
				probs.atLine("%s line %d has no value in %q: every row needs one", name, line, c.name)
			}
			continue
		}
		if !c.fitsType(v) {
			var kind any = c.typ.Kind
			if c.otherDates {
				kind = "a date the ingestor reads (2024-12-31, 12/31/2024, 31.12.2024, 20241231, Dec 31, 2024: one shape for the whole column)"
			}
			probs.atLine("%s line %d: %q is %s, not %s (%s)%s: fix the value, or declare the column with another type in --schema", name, line, c.name, quoteValue(v), kind, c.typ.SQL, outOfRange(v, c.typ.Kind))
		}
	}
}

// outOfRange says why a number that looks like one is none to the
// ingestor, "" for any other value.
func outOfRange(v []byte, k spec.ValueKind) string {
	if k != spec.KindInt && k != spec.KindFloat {
		return ""
	}
	if ok, _, _ := numericShape(trimBlanks(v)); ok && !isNumber(v) {
		return ", beyond what pandas reads as a number (an integer past 64 bits, or a float past ±1.8e308)"
	}
	return ""
}

// labelCount counts the rows of one label value.
type labelCount struct {
	v string
	n int
}

// labelCache holds the counters of the last few label values seen: a
// classification has few, and comparing a short value to a handful costs
// less than hashing it for a map on every row.
type labelCache struct {
	lcs  [8]*labelCount
	next int
}

func (c *labelCache) find(v []byte) *labelCount {
	for _, lc := range c.lcs {
		if lc != nil && lc.v == string(v) {
			return lc
		}
	}
	return nil
}

func (c *labelCache) add(lc *labelCount) {
	c.lcs[c.next] = lc
	c.next = (c.next + 1) % len(c.lcs)
}

// checkTabularHeader checks the header against the schema and the task's
// columns and returns what to check in each column. What the ingestor
// takes but leaves out of the table (a column without a name, one the
// schema does not declare, one it reserves) is said in tb's notes.
func checkTabularHeader(name string, cols []string, o TabularOptions, tb *Tabular, probs *problemList) ([]colCheck, bool) {
	ok := true
	seen := map[string]int{}
	checks := make([]colCheck, len(cols))
	var unnamed, reserved []string
	for i, c := range cols {
		checks[i].name = c
		if c == "" {
			// pandas names it "Unnamed: <i>", which no schema declares:
			// the ingestor reads it and leaves it out of the table.
			unnamed = append(unnamed, fmt.Sprint(i+1))
			continue
		}
		if first, dup := seen[c]; dup {
			probs.add("%s names the column %q twice (columns %d and %d): column names must be unique", name, c, first+1, i+1)
			ok = false
			continue
		}
		seen[c] = i
		if c != o.IDColumn && spec.IsReserved(c) {
			reserved = append(reserved, fmt.Sprintf("%q", c))
		}
		// The label and the id column do not become columns of the table.
		if err := spec.CheckColumnName(c); err != nil && c != o.LabelColumn && c != o.IDColumn {
			probs.add("%s column %d: %v", name, i+1, err)
			ok = false
		}
		if col, found := o.Schema.Lookup(c); found {
			checks[i].declared, checks[i].typ = true, col.Type
		}
		// A row without a label is the label rule's business: the
		// ingestor takes it.
		checks[i].required = c == o.OrderColumn || c == o.GroupColumn || c == o.DurationColumn || c == o.IDColumn
		checks[i].id = c != "" && c == o.IDColumn
		k := checks[i].typ.Kind
		checks[i].otherDates = checks[i].declared && (k == spec.KindDate || k == spec.KindDateTime) && c != o.OrderColumn
	}
	switch {
	case len(unnamed) > 1:
		// Stripped, their names are one name twice to the ingestor,
		// which refuses a header that repeats a name.
		probs.add("%s has %d columns without a name (columns %s): the ingestor refuses a header that repeats a name; name them, or remove the columns (a comma at the end of every line makes one)", name, len(unnamed), strings.Join(unnamed, ", "))
		ok = false
	case len(unnamed) == 1:
		tb.Notes = append(tb.Notes, fmt.Sprintf("column %s of %s has no name: the ingestor leaves it out of the table (a comma at the end of every line makes such a column)", unnamed[0], name))
	}
	ok = checkColumnNames(name, cols, o, probs) && ok
	if len(reserved) > 0 {
		tb.Notes = append(tb.Notes, fmt.Sprintf("%s has columns the ingestor reserves for itself: %s: it leaves them out of the table (its own %s are there instead); to make one of them each record's identifier, push with --data-id column:<name> (e.g. --data-id column:id)", name, strings.Join(reserved, ", "), strings.Join(spec.ReservedColumns, ", ")))
	}
	var undeclared, missing []string
	for _, c := range o.Schema {
		if _, found := seen[c.Name]; !found {
			missing = append(missing, fmt.Sprintf("%q", c.Name))
		}
	}
	for _, c := range cols {
		if _, found := o.Schema.Lookup(c); !found && c != "" && (c == o.IDColumn || !spec.IsReserved(c)) {
			undeclared = append(undeclared, c)
		}
	}
	if len(missing) > 0 {
		probs.add("--schema declares %s, which %s does not have; its columns are %s: declare only the CSV's columns", strings.Join(missing, ", "), name, quoteAll(cols))
		ok = false
	}
	if len(undeclared) > 0 {
		sort.Strings(undeclared)
		tb.Notes = append(tb.Notes, fmt.Sprintf("%s has columns --schema does not declare: %s: the ingestor leaves them out of the table; declare them to keep them", name, listFirst(undeclared, 5)))
	}
	role := func(col, what, fix string) {
		if col == "" {
			return
		}
		if _, found := seen[col]; !found {
			probs.add("%s has no %s column %q; its columns are %s: %s", name, what, col, quoteAll(cols), fix)
			ok = false
		}
	}
	role(o.LabelColumn, "label", "name the right one with --label-column")
	role(o.GroupColumn, "sequence", "the ingestor groups the rows of a sequence by that exact column name; rename your id column to "+o.GroupColumn)
	role(o.OrderColumn, "time", "the ingestor orders the rows by that exact column name; rename your time column to "+o.OrderColumn)
	role(o.DurationColumn, "time-to-event", "name the right one with --time-column")
	role(o.IDColumn, "data_id", "name the right one with --data-id column:<name>")
	if o.DurationColumn != "" && o.DurationColumn == o.LabelColumn {
		probs.add("the label column and the time-to-event column are both %q: the label is the event, --time-column the time until it", o.LabelColumn)
		ok = false
	}
	if o.Task != "" && o.Task != forecastTask && !hasFeature(cols, o) {
		probs.add("%s has no feature column, only %s: a model learns the label from the other columns, so training has nothing to learn from; add the features (a column the ingestor reserves, such as id or filename, is left out of the table)", name, quoteAll(cols))
		ok = false
	}
	if msg, over := rowSizeProblem(o.Schema, o.LabelColumn); over {
		probs.add("%s", msg)
		ok = false
	}
	if o.untyped {
		return checks, ok
	}
	ok = forecastColumns(name, o, probs) && ok
	if c, found := o.Schema.Lookup(o.LabelColumn); found && o.NumericLabel && !c.Type.Kind.Numeric() {
		probs.add("label %q is %s, but %s predicts a number: fix the values that are not numbers (or declare it as one, e.g. %s:DOUBLE), or use --label-policy passthrough", o.LabelColumn, c.Type.SQL, o.Task, o.LabelColumn)
		ok = false
	}
	if c, found := o.Schema.Lookup(o.DurationColumn); found && o.DurationColumn != "" && !c.Type.Kind.Numeric() {
		probs.add("time-to-event column %q is %s: it must hold numbers (a duration), declare it as INT or DOUBLE", o.DurationColumn, c.Type.SQL)
		ok = false
	}
	if c, found := o.Schema.Lookup(o.OrderColumn); found && o.OrderColumn != "" && !c.Type.Kind.Numeric() && c.Type.Kind != spec.KindDateTime && c.Type.Kind != spec.KindDate {
		probs.add("%q is %s: it must hold times (DATETIME, TIMESTAMP, DATE) or a numeric step (INT)", o.OrderColumn, c.Type.SQL)
		ok = false
	}
	return checks, ok
}

func orderValue(v []byte, t spec.ColumnType) orderKey {
	if t.Kind.Numeric() {
		n, ok := numberValue(v)
		return orderKey{n: n, valid: ok}
	}
	tm, ok := parseDateTime(v, false)
	return orderKey{t: tm, time: true, valid: ok}
}

func quoteValue(v []byte) string {
	const maxShown = 40
	if len(v) > maxShown {
		return fmt.Sprintf("%q…", v[:maxShown])
	}
	return fmt.Sprintf("%q", v)
}

func csvStreamProblem(err error) string {
	var ce *csvread.Error
	if errors.As(err, &ce) {
		return ce.Error()
	}
	return err.Error()
}

// TabularOptionsFor derives the options of a tabular task from its
// description and the push flags: the label column, the label policy
// (object-form tasks), the time column (time_to_event_prediction) and the
// declared schema (nil to infer).
func TabularOptionsFor(t category.Task, labelColumn, policy, timeColumn string, schema spec.Schema, limits Limits) TabularOptions {
	o := TabularOptions{Task: t.Name, LabelColumn: labelColumn, MinLabels: t.Manifest.MinLabelValues, Schema: schema, Limits: limits}
	if t.Manifest.Label == category.LabelObject && policy == spec.PolicyBucket {
		o.NumericLabel = true
	}
	if g := t.Grouping; g != nil {
		o.GroupColumn = g.GroupColumn
	}
	// The layout contract's ordering says which column may never decrease:
	// over the whole file, or within each group (OrderColumn is checked per
	// GroupColumn when that is set).
	if ord := t.Ordering; ord != nil {
		o.OrderColumn = ord.Column
	}
	if t.Name == "time_to_event_prediction" {
		o.DurationColumn, o.EventColumn = timeColumn, labelColumn
	}
	return o
}

// hasFeature tells whether the header has a column the table keeps beside
// the task's own (label, time, sequence, id): a forecast may do without
// one, every other task learns from them.
func hasFeature(cols []string, o TabularOptions) bool {
	for _, c := range cols {
		switch c {
		case "", o.LabelColumn, o.OrderColumn, o.GroupColumn, o.DurationColumn, o.IDColumn:
			continue
		}
		if !spec.IsReserved(c) {
			return true
		}
	}
	return false
}
