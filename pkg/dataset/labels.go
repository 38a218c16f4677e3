package dataset

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/tracebloc/kubectl-tracebloc/pkg/csvread"
)

// naValues are cell values the ingestor stores as NULL: a link column that
// holds one names no file.
var naValues = []string{"", "NA", "N/A", "n/a", "NaN", "nan", "NULL", "null", "None", "none", "<NA>"}

// maxLabelCell is the width of the ingestor's label column (String(255)):
// the database refuses a longer value, counted in characters.
const maxLabelCell = 255

const kindLongLabel = "%d labels are longer than the 255 characters of the ingestor's label column: %s: the database refuses a longer value; shorten them"

// longLabel is the problem of a text task's label of n characters.
func longLabel(line int, col string, n int, bio bool) string {
	fix := "shorten it"
	if bio {
		fix = "the tags of a text take a character or more each: split the text into shorter files"
	}
	return fmt.Sprintf("labels.csv line %d: the %s is %d characters long, over the 255 characters of the ingestor's label column (the database refuses a longer value): %s", line, col, n, fix)
}

// padRecord gives a row that ends early the missing cells, empty, as the
// ingestor's CSV reader (pandas) does; only a row with too many fields is
// an error there. buf is reused from row to row.
func padRecord(rec [][]byte, n int, buf *[][]byte) [][]byte {
	if len(rec) >= n {
		return rec
	}
	*buf = append(append((*buf)[:0], rec...), make([][]byte, n-len(rec))...)
	return *buf
}

// checkManifest reads labels.csv once, streaming, and checks its text,
// header and rows against the files found.
func (r *checkRun) checkManifest() {
	f, err := openRead(filepath.Join(r.abs, LabelsFile))
	if err != nil {
		r.probs.addf("opening labels.csv: %v", err)
		return
	}
	defer f.close()
	m := r.task.Manifest
	ds, probs := r.ds, r.probs
	// The CSV dialect of every family: the ingestor's quoting, backslash
	// escapes, BOM and line ends (CSVStream).
	s := csvread.NewStream(f, LabelsFile)
	raw, err := s.Read()
	if errors.Is(err, io.EOF) {
		probs.addf("labels.csv is empty: it needs a header (%s) and one row per file", strings.Join(r.wantColumns(), ","))
		return
	}
	if err != nil {
		probs.addf("%s", csvStreamProblem(err))
		return
	}
	// The ingestor strips the header names before it reads a column, but
	// its validators of the task's own columns (keypoints) read them as
	// written.
	exact := map[string]bool{}
	for _, c := range r.checks {
		for _, col := range c.columns() {
			exact[col.name] = true
		}
	}
	header := make([]string, len(raw))
	for i, h := range raw {
		if header[i] = strings.TrimSpace(string(h)); exact[header[i]] {
			header[i] = string(h)
		}
	}
	cols, ok := r.checkHeader(header)

	// referenced holds the files of the primary folder rows name; missing
	// and empty rows are counted, with a few examples, so memory does not
	// grow with rows that name nothing.
	referenced := make(map[string]struct{})
	var missing, emptyNames, excluded sample
	emptyLabels, dupRows := 0, 0
	links := r.linkColumns()
	emptyLinks := map[string]*sample{}
	for _, l := range links {
		emptyLinks[l] = &sample{}
	}
	ds.Labels = map[string]int{}
	rec := make([]string, len(header))
	var padded [][]byte
	var longLabels findings
	get := func(col string) string { return rec[cols[col]] }
	for {
		fields, err := s.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			probs.addf("%s", csvStreamProblem(err))
			return
		}
		line := s.Line()
		if len(fields) > len(header) {
			probs.addf("labels.csv line %d has %d fields, the header has %d: every row needs one value per column (quote a value that holds a comma)%s", line, len(fields), len(header), escapeHint(s.Escaped()))
			return
		}
		fields = padRecord(fields, len(header), &padded)
		for i, v := range fields {
			rec[i] = string(v)
		}
		ds.Rows++
		if !ok {
			continue
		}
		name := get(m.FilenameColumn)
		switch file, found := r.resolve(name); {
		case name == "":
			emptyNames.addLine(line)
		case !found && r.ign.Why(r.task.Primary.Subdir+"/"+name) != "":
			excluded.addName(name)
		case !found:
			missing.addName(name)
		default:
			if _, seen := referenced[file]; seen {
				dupRows++
			}
			referenced[file] = struct{}{}
		}
		if m.HasLabel() {
			// Only an empty cell is no label (na_values [""] for every
			// task but the tabular ones): None and NA are class names.
			if label := get(r.opts.LabelColumn); label == "" {
				emptyLabels++
			} else {
				if n := utf8.RuneCountInString(label); n > maxLabelCell {
					longLabels.add(kindLongLabel, fmt.Sprintf("labels.csv line %d (%d characters)", line, n))
				}
				ds.Labels[label]++
			}
		}
		for _, l := range links {
			if v := get(l); slices.Contains(naValues, strings.TrimSpace(v)) {
				emptyLinks[l].addLine(line)
			}
		}
		for _, c := range r.checks {
			c.row(line, get)
		}
	}
	if ds.Rows == 0 {
		probs.addf("labels.csv has a header but no rows: add one row per file")
		return
	}
	if !ok {
		return
	}
	r.reportRows(missing, emptyNames, emptyLabels, dupRows)
	longLabels.report(probs)
	if excluded.n > 0 {
		probs.addf("%s", r.ign.excludedProblem(r.task.Primary.Subdir, excluded.n, excluded.first))
	}
	for _, l := range links {
		if e := emptyLinks[l]; e.n > 0 {
			probs.addf("%d rows of labels.csv have an empty %s: %s: %s reads each row's sidecar file through %s, fill it on every row (e.g. %s)",
				e.n, l, e, r.task.Name, l, r.sidecarFor(l))
		}
	}
	r.noteUnreferenced(referenced)
}

// resolve finds the primary file a row names. The ingestor appends the
// dataset's extension to a name that carries none, so "person_001" names
// person_001.jpg.
func (r *checkRun) resolve(name string) (string, bool) {
	if _, ok := r.primary[name]; ok {
		return name, true
	}
	if !slices.Contains(r.task.Primary.Extensions, strings.ToLower(filepath.Ext(name))) && r.ds.Extension != "" {
		if _, ok := r.primary[name+r.ds.Extension]; ok {
			return name + r.ds.Extension, true
		}
	}
	return name, false
}

func (r *checkRun) linkColumns() []string {
	var out []string
	for _, s := range r.task.Sidecars {
		if l := s.Link(); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func (r *checkRun) sidecarFor(link string) string {
	for _, s := range r.task.Sidecars {
		if s.Link() == link {
			return s.For("<stem>")
		}
	}
	return ""
}

// wantColumns are the columns labels.csv must hold, in the order a user
// would write them.
func (r *checkRun) wantColumns() []string {
	m := r.task.Manifest
	out := []string{m.FilenameColumn}
	if m.HasLabel() {
		out = append(out, r.opts.LabelColumn)
	}
	out = append(out, r.linkColumns()...)
	for _, c := range r.checks {
		for _, col := range c.columns() {
			out = append(out, col.name)
		}
	}
	return out
}

// checkHeader maps column names to positions and names every column the
// task needs that is missing.
func (r *checkRun) checkHeader(header []string) (map[string]int, bool) {
	probs := r.probs
	seen := map[string]int{}
	ok := true
	for i, h := range header {
		if first, dup := seen[h]; dup {
			probs.addf("labels.csv names the column %q twice (columns %d and %d): column names must be unique", h, first+1, i+1)
			ok = false
			continue
		}
		seen[h] = i
	}
	cols := quoteAll(header)
	m := r.task.Manifest
	if _, found := seen[m.FilenameColumn]; !found {
		probs.addf("labels.csv has no %q column%s; its columns are %s: the ingestor finds each file by that column", m.FilenameColumn, closeHint(header, m.FilenameColumn), cols)
		ok = false
	}
	if m.HasLabel() {
		if _, found := seen[r.opts.LabelColumn]; !found {
			probs.addf("labels.csv has no label column %q; its columns are %s: name the right one with --label-column", r.opts.LabelColumn, cols)
			ok = false
		}
	}
	for _, l := range r.linkColumns() {
		if _, found := seen[l]; !found {
			probs.addf("labels.csv has no %q column%s; its columns are %s: %s reads each row's sidecar through it, add it (e.g. %s)", l, closeHint(header, l), cols, r.task.Name, r.sidecarFor(l))
			ok = false
		}
	}
	for _, c := range r.checks {
		for _, col := range c.columns() {
			if _, found := seen[col.name]; !found {
				probs.addf("labels.csv has no %q column%s; its columns are %s: %s", col.name, closeHint(header, col.name), cols, col.why)
				ok = false
			}
		}
	}
	return seen, ok
}

func closeHint(header []string, want string) string {
	for _, h := range header {
		if h != want && strings.EqualFold(strings.TrimSpace(h), want) {
			return fmt.Sprintf(" (%q is close: the name must be exactly %q, same case, no spaces)", h, want)
		}
	}
	return ""
}

func (r *checkRun) reportRows(missing, emptyNames sample, emptyLabels, dupRows int) {
	ds, probs, dir := r.ds, r.probs, r.task.Primary.Subdir
	if missing.n > 0 {
		hint := fmt.Sprintf(": put those files in %s/ or remove their rows", dir)
		if strings.Contains(missing.first[0], "/") {
			hint = fmt.Sprintf(": the %s column holds bare file names (e.g. cat1.jpg, not %s/cat1.jpg)", r.task.Manifest.FilenameColumn, dir)
		}
		probs.addf("%d rows of labels.csv name files that are not in %s/: %s%s", missing.n, dir, &missing, hint)
	}
	if emptyNames.n > 0 {
		probs.addf("%d rows of labels.csv have an empty %s: %s", emptyNames.n, r.task.Manifest.FilenameColumn, &emptyNames)
	}
	if emptyLabels > 0 {
		probs.addf("%d rows of labels.csv have an empty %q: give every row a label", emptyLabels, r.opts.LabelColumn)
	}
	if dupRows > 0 {
		ds.Notes = append(ds.Notes, fmt.Sprintf("%d rows of labels.csv repeat a file named by an earlier row", dupRows))
	}
	if min := r.task.Manifest.MinLabelValues; min > 1 && len(ds.Labels) == 1 {
		for v := range ds.Labels {
			probs.addf("every row of labels.csv has the same %s %q: %s needs at least %d label values", r.opts.LabelColumn, v, r.task.Name, min)
		}
	}
}

func (r *checkRun) noteUnreferenced(referenced map[string]struct{}) {
	var extra []string
	dir := r.task.Primary.Subdir
	for name := range r.primary {
		if _, ok := referenced[name]; !ok {
			extra = append(extra, dir+"/"+name)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		r.ds.Notes = append(r.ds.Notes, fmt.Sprintf("%d files in %s/ have no row in labels.csv (staged, but not ingested): %s", len(extra), dir, listFirst(extra, 3)))
	}
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// sample counts rows of one kind and keeps the first few examples: the
// smallest names, or the first lines in file order.
type sample struct {
	n     int
	first []string
}

func (s *sample) addName(name string) {
	s.n++
	s.first = keepSmallest(s.first, name, 5)
}

func (s *sample) addLine(line int) {
	s.n++
	if len(s.first) < 5 {
		s.first = append(s.first, fmt.Sprintf("line %d", line))
	}
}

// String renders the examples and how many more there are.
func (s *sample) String() string { return listWithMore(s.first, s.n) }

// escapeHint completes the message of a row with too many fields when the
// file holds a backslash: the ingestor's CSV reader takes \ as its escape,
// so a \ at the end of a line joins the next line to the row.
func escapeHint(escaped bool) string {
	if !escaped {
		return ""
	}
	return `; a \ at the end of a line joins the next line to it (the ingestor reads \ as an escape): write \\ for a backslash, or remove it`
}
