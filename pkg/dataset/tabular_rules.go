package dataset

import (
	"fmt"

	"github.com/tracebloc/kubectl-tracebloc/pkg/spec"
)

// rowRule is one rule the tabular scan holds the rows to, beyond each
// cell's type: the image family's checker, for rows of a CSV. Its
// constructor reads the columns it needs off the header (nil: the rule
// does not apply to the task or the file); row sees every data row, after
// the cell checks, with one field per column (a short row padded with
// empty fields); finish adds what the rule found once every row was seen.
type rowRule interface {
	row(line int, rec [][]byte)
	finish()
}

// tabScan is what the rules of one scan share: the file, the options, the
// header's checks and where problems go.
type tabScan struct {
	name   string
	o      TabularOptions
	tb     *Tabular
	checks []colCheck
	probs  *problemList
}

// col is the index of the column named c, -1 when there is none.
func (s *tabScan) col(c string) int {
	if c == "" {
		return -1
	}
	for i := range s.checks {
		if s.checks[i].name == c {
			return i
		}
	}
	return -1
}

// tabularRules are the row rules, in the order their problems are listed.
var tabularRules = []func(s *tabScan) rowRule{
	newLabelRule,
	newDurationRule,
	newEventRule,
	newDateShapeRule,
	newOrderRule,
	newSequenceRule,
}

// labelRule counts the rows of each label value (a classifier needs a few
// values) and the rows without a label.
type labelRule struct {
	s      *tabScan
	col    int
	count  bool
	counts map[string]*labelCount
	recent labelCache
	// empty counts the rows without a label, first is the line of the first.
	empty, first int
}

func newLabelRule(s *tabScan) rowRule {
	i := s.col(s.o.LabelColumn)
	if i < 0 {
		return nil
	}
	r := &labelRule{s: s, col: i, count: s.o.MinLabels > 0 || s.col(s.o.GroupColumn) >= 0, counts: map[string]*labelCount{}}
	if r.count {
		s.tb.Labels = map[string]int{}
	}
	return r
}

func (r *labelRule) row(line int, rec [][]byte) {
	lv := rec[r.col]
	if isMissing(lv) {
		r.empty++
		if r.first == 0 {
			r.first = line
		}
		return
	}
	if !r.count {
		return
	}
	// Indexing with string(lv) does not allocate; only a new label value
	// is copied. A counter behind a pointer saves a map write on every row.
	lc := r.recent.find(lv)
	switch {
	case lc != nil:
		lc.n++
	case r.counts[string(lv)] != nil:
		lc = r.counts[string(lv)]
		lc.n++
		r.recent.add(lc)
	case len(r.counts) < maxLabelValues:
		lc = &labelCount{v: string(lv), n: 1}
		r.counts[lc.v] = lc
		r.recent.add(lc)
	}
}

func (r *labelRule) finish() {
	s := r.s
	for v, lc := range r.counts {
		s.tb.Labels[v] = lc.n
	}
	if r.empty > 0 {
		// The ingestor stores such a row with a NULL label (a regression
		// label becomes its "missing" bucket): it takes the row, so this
		// is said, not refused.
		s.tb.Notes = append(s.tb.Notes, fmt.Sprintf("%d rows of %s have no %q (the first on line %d): the ingestor stores them without a label, and training cannot learn from them; give every row a label",
			r.empty, s.name, s.o.LabelColumn, r.first))
	}
	if s.o.MinLabels > 0 && s.tb.Rows > 0 && r.empty < s.tb.Rows && len(s.tb.Labels) < s.o.MinLabels {
		for v := range s.tb.Labels {
			s.probs.add("every row of %s has the same %s %q: a classifier needs at least %d label values", s.name, s.o.LabelColumn, v, s.o.MinLabels)
		}
	}
}

// durationRule refuses a negative time to event: the ingestor's
// TimeToEventValidator does.
type durationRule struct {
	s   *tabScan
	col int
}

func newDurationRule(s *tabScan) rowRule {
	if i := s.col(s.o.DurationColumn); i >= 0 {
		return &durationRule{s, i}
	}
	return nil
}

func (r *durationRule) row(line int, rec [][]byte) {
	if d, ok := numberValue(rec[r.col]); ok && d < 0 {
		r.s.probs.atLine("%s line %d: %q is %s, a negative time to event: times count from the start of observation, 0 or more", r.s.name, line, r.s.o.DurationColumn, quoteValue(rec[r.col]))
	}
}

func (r *durationRule) finish() {}

// eventRule looks at the event column of a time-to-event CSV: 1 where the
// event happened, 0 where the row is censored, or a boolean. The ingestor
// does not check the values, so another value is said, not refused.
type eventRule struct {
	s          *tabScan
	col        int
	odd, first int
	firstValue string
}

func newEventRule(s *tabScan) rowRule {
	if i := s.col(s.o.EventColumn); i >= 0 {
		return &eventRule{s: s, col: i}
	}
	return nil
}

func (r *eventRule) row(line int, rec [][]byte) {
	v := rec[r.col]
	if isMissing(v) || isBool(v) {
		return
	}
	if n, ok := numberValue(v); ok && (n == 0 || n == 1) {
		return
	}
	r.odd++
	if r.first == 0 {
		r.first, r.firstValue = line, quoteValue(v)
	}
}

func (r *eventRule) finish() {
	if r.odd > 0 {
		r.s.tb.Notes = append(r.s.tb.Notes, fmt.Sprintf("%d rows of %s have an event %q that is not 0 or 1 (the first, line %d: %s): a time-to-event model reads 1 where the event happened and 0 where the row is censored (true and false also do)",
			r.odd, r.s.name, r.s.o.EventColumn, r.first, r.firstValue))
	}
}

// dateShapeRule holds every date and time column to the shape of its first
// value: the ingestor's DataValidator reads a column with pandas'
// to_datetime, which takes the format of the first value for the whole
// column and refuses a value written another way (2024-01-05 beside
// 2024/01/06, or beside 2024-01-06 10:00).
type dateShapeRule struct {
	s    *tabScan
	cols []dateColumn
}

// dateColumn is one date or time column and the shape of its first value.
type dateColumn struct {
	i         int
	kind      spec.ValueKind
	shape     dateShape
	line      int
	firstSeen []byte
	// other is the format pandas guessed from a first value written
	// otherwise than year first (nil for YYYY-MM-DD and its kin); other
	// may be set only for a column that may hold such dates.
	other    *otherDateFormat
	mayOther bool
	// oneByOne: pandas guessed no format from the first value and parses
	// each value on its own (parsedOneByOne): any shape the cell check
	// takes goes, in any mix.
	oneByOne   bool
	monthFirst int // day-first values the ingestor's cast reads month first
	mfLine     int
	mfSeen     []byte
}

func newDateShapeRule(s *tabScan) rowRule {
	r := &dateShapeRule{s: s}
	for i, c := range s.checks {
		switch c.typ.Kind {
		case spec.KindDate, spec.KindDateTime, spec.KindTime:
			if c.declared {
				r.cols = append(r.cols, dateColumn{i: i, kind: c.typ.Kind, mayOther: c.otherDates})
			}
		}
	}
	if len(r.cols) == 0 {
		return nil
	}
	return r
}

func (r *dateShapeRule) row(line int, rec [][]byte) {
	for k := range r.cols {
		c := &r.cols[k]
		v := rec[c.i]
		if isMissing(v) {
			continue
		}
		if c.line == 0 {
			if c.mayOther {
				if f := guessOtherDate(v); f != nil {
					c.other, c.line, c.firstSeen = f, line, append([]byte(nil), v...)
					r.dayFirst(c, line, v)
					continue
				}
				if parsedOneByOne(v) {
					c.oneByOne, c.line, c.firstSeen = true, line, append([]byte(nil), v...)
					continue
				}
			}
			sh, ok := shapeOf(v, c.kind)
			if !ok {
				continue // not a date at all: the cell check reported it
			}
			c.shape, c.line, c.firstSeen = sh, line, append([]byte(nil), v...)
			continue
		}
		if c.oneByOne {
			continue
		}
		if c.other != nil {
			if c.other.matches(v) {
				r.dayFirst(c, line, v)
			} else if isOtherDate(v) || isYearFirst(v, c.kind) || twoDigitYearDate(v) {
				r.anotherShape(c, line, v, " ("+c.other.String()+")")
			}
			continue
		}
		// The shape read off the separators is enough for the common
		// case; a value of another shape is parsed, as one that is no
		// date at all was reported by the cell check.
		if yearFirstLike(v, c.kind) && quickShape(v, c.kind) == c.shape {
			continue
		}
		if sh, ok := shapeOf(v, c.kind); ok && sh != c.shape || !ok && c.mayOther && (isOtherDate(v) || twoDigitYearDate(v)) {
			r.anotherShape(c, line, v, "")
		}
	}
}

func (r *dateShapeRule) anotherShape(c *dateColumn, line int, v []byte, format string) {
	r.s.probs.atLine("%s line %d: %q is %s, written another way than its first value %s (line %d%s): the ingestor reads a date column in the shape of its first value and refuses the others; write every value of the column the same way",
		r.s.name, line, r.s.checks[c.i].name, quoteValue(v), quoteValue(c.firstSeen), c.line, format)
}

// dayFirst counts the values of a day-first column that the ingestor's
// cast reads month first.
func (r *dateShapeRule) dayFirst(c *dateColumn, line int, v []byte) {
	if c.other.readMonthFirst(v) {
		if c.monthFirst == 0 {
			c.mfLine, c.mfSeen = line, append([]byte(nil), v...)
		}
		c.monthFirst++
	}
}

// isYearFirst tells whether v is a date written year first, as
// parseDateTime reads it.
func isYearFirst(v []byte, k spec.ValueKind) bool {
	_, ok := shapeOf(v, k)
	return ok
}

// yearFirstLike tells whether v has the separators of a date written year
// first (YYYY-MM-DD, YYYY/MM/DD), without checking it is one: 12/31/2024
// has quickShape's shape of 2024-12-31.
func yearFirstLike(v []byte, k spec.ValueKind) bool {
	return k == spec.KindTime || len(v) >= 10 && v[4] == v[7] && (v[4] == '-' || v[4] == '/')
}

func (r *dateShapeRule) finish() {
	for k := range r.cols {
		c := &r.cols[k]
		if c.monthFirst > 0 {
			r.s.tb.Notes = append(r.s.tb.Notes, fmt.Sprintf("%d values of %q in %s are dates written day first with a day of 12 or less (the first, line %d: %s): the ingestor checks them day first, as the column's first value %s asks, but stores each value read month first, so %s is stored as another day; write the dates as YYYY-MM-DD",
				c.monthFirst, r.s.checks[c.i].name, r.s.name, c.mfLine, quoteValue(c.mfSeen), quoteValue(c.firstSeen), quoteValue(c.mfSeen)))
		}
	}
}

// orderRule holds a time column that may never decrease over the whole
// file (time_series_forecasting's timestamp): ascending, not in the
// future, and for a forecast before today and without a zone.
type orderRule struct {
	s       *tabScan
	col     int
	typ     spec.ColumnType
	limit   stamp
	late    string
	prev    orderKey
	prevRaw []byte
	line    int
}

// timeLimit is the first time an order column may not hold, and what a
// later one is called.
func timeLimit(o TabularOptions) (stamp, string) {
	if o.Task == forecastTask {
		return forecastLimit(o.Now), "not before today: the ingestor takes a forecast's history only up to yesterday"
	}
	return stamp{sec: o.Now.Add(futureSlack).Unix()}, "in the future: check the clock or the date format (YYYY-MM-DD HH:MM:SS)"
}

func newOrderRule(s *tabScan) rowRule {
	i := s.col(s.o.OrderColumn)
	if i < 0 || s.col(s.o.GroupColumn) >= 0 {
		return nil
	}
	r := &orderRule{s: s, col: i, typ: s.checks[i].typ}
	r.limit, r.late = timeLimit(s.o)
	return r
}

func (r *orderRule) row(line int, rec [][]byte) {
	v := rec[r.col]
	key := orderValue(v, r.typ)
	if !key.valid {
		return // reported by the cell checks as a bad value or a missing one
	}
	s := r.s
	if key.time && r.limit.before(key.t) {
		s.probs.atLine("%s line %d: %q is %s, %s", s.name, line, s.o.OrderColumn, quoteValue(v), r.late)
	}
	if key.time && s.o.Task == forecastTask && hasZone(v) {
		s.probs.atLine("%s line %d: %q is %s, a time with a zone: the ingestor compares a forecast's times with today's date, which has none, and fails; write the times without the zone (in UTC)", s.name, line, s.o.OrderColumn, quoteValue(v))
	}
	if r.line > 0 && key.before(r.prev) {
		s.probs.atLine("%s line %d: %q %s comes before %s on line %d: sort the rows by %s, oldest first", s.name, line, s.o.OrderColumn, quoteValue(v), quoteValue(r.prevRaw), r.line, s.o.OrderColumn)
	}
	r.prev, r.prevRaw, r.line = key, append(r.prevRaw[:0], v...), line
}

func (r *orderRule) finish() {}

// sequenceRule holds the rows of each sequence (time_series_classification):
// times ascending within it, not in the future, one label.
type sequenceRule struct {
	s                *tabScan
	group, order, lb int
	typ              spec.ColumnType
	limit            stamp
	late             string
	sequences        map[string]*sequenceState
}

type sequenceState struct {
	last orderKey
	// lastRaw is the previous row's time as written, quoted only if a
	// problem names it: quoting costs too much to do on every row.
	lastRaw  []byte
	lastLine int
	label    string
	line     int
}

func newSequenceRule(s *tabScan) rowRule {
	g, o := s.col(s.o.GroupColumn), s.col(s.o.OrderColumn)
	if g < 0 || o < 0 {
		return nil
	}
	r := &sequenceRule{s: s, group: g, order: o, lb: s.col(s.o.LabelColumn), typ: s.checks[o].typ, sequences: map[string]*sequenceState{}}
	r.limit, r.late = timeLimit(s.o)
	return r
}

func (r *sequenceRule) row(line int, rec [][]byte) {
	s := r.s
	v := rec[r.order]
	key := orderValue(v, r.typ)
	if !key.valid {
		return // reported by the cell checks as a bad value or a missing one
	}
	if key.time && r.limit.before(key.t) {
		s.probs.atLine("%s line %d: %q is %s, %s", s.name, line, s.o.OrderColumn, quoteValue(v), r.late)
	}
	g := rec[r.group]
	if isMissing(g) {
		return // reported by the cell checks: the group column is required
	}
	var label []byte
	if r.lb >= 0 && !isMissing(rec[r.lb]) {
		label = rec[r.lb]
	}
	st, seen := r.sequences[string(g)]
	switch {
	case !seen:
		st = &sequenceState{label: string(label), line: line}
		r.sequences[string(g)] = st
	default:
		if key.before(st.last) {
			s.probs.atLine("%s line %d: sequence %s has %q %s after %s on line %d: sort each sequence's rows by %s, oldest first", s.name, line, quoteValue(g), s.o.OrderColumn, quoteValue(v), quoteValue(st.lastRaw), st.lastLine, s.o.OrderColumn)
		}
		if label != nil && st.label != "" && string(label) != st.label {
			s.probs.atLine("%s line %d: sequence %s has %s %q, but %q on line %d: a sequence has one label, on every one of its rows", s.name, line, quoteValue(g), s.o.LabelColumn, label, st.label, st.line)
		}
		if st.label == "" && label != nil {
			st.label, st.line = string(label), line
		}
	}
	st.last, st.lastRaw, st.lastLine = key, append(st.lastRaw[:0], v...), line
}

func (r *sequenceRule) finish() { r.s.tb.Sequences = len(r.sequences) }
