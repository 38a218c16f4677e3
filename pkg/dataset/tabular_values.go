package dataset

import (
	"bytes"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tracebloc/kubectl-tracebloc/pkg/spec"
)

// isMissing tells whether v is a cell the ingestor's CSV reader (pandas,
// default options) reads as a missing value: it becomes NULL, whatever the
// column. A switch on the string compiles to compares without hashing or
// allocating: this runs on every cell of a large CSV.
func isMissing(v []byte) bool {
	if len(v) == 0 {
		return true
	}
	// Cheap refusals first.
	if len(v) > 8 || v[len(v)-1] >= '0' && v[len(v)-1] <= '9' {
		return false
	}
	switch v[0] {
	case '#', '-', '1', '<', 'N', 'n':
	default:
		return false
	}
	switch string(v) {
	case "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>",
		"N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null":
		return true
	}
	return false
}

// cellFits tells whether the cell v raises no problem in the cell checks
// of scanTabular: its value fits the column's type, or it is missing where
// the column is not required. It is those checks without the reports, run
// ahead a batch at a time (fitBatch), so it must follow them.
func cellFits(v []byte, c *colCheck) bool {
	if !c.declared {
		return true
	}
	if c.id && isBlank(v) {
		return false
	}
	// A value that fits raises no problem, missing-value word or not,
	// unless the column is required.
	if !c.required && c.fitsType(v) {
		return true
	}
	if isMissing(v) {
		return !c.required
	}
	return c.fitsType(v)
}

// cellsFit tells whether every cell of rec fits (cellFits) and the record
// has one per column.
func cellsFit(rec [][]byte, checks []colCheck) bool {
	if len(rec) != len(checks) {
		return false
	}
	for i, v := range rec {
		if !cellFits(v, &checks[i]) {
			return false
		}
	}
	return true
}

// fitBatch runs cellsFit on every record of b, a column at a time: the
// type is tested once per column rather than once per cell.
func fitBatch(b *checkedBatch, checks []colCheck) {
	fit := b.fit[:0]
	for r := range b.Len() {
		fit = append(fit, b.NumFields(r) == len(checks))
	}
	for j := range checks {
		c := &checks[j]
		if !c.declared {
			continue
		}
		switch {
		case c.required:
		case c.typ.Kind == spec.KindInt:
			for r := range fit {
				if !fit[r] {
					continue
				}
				v := b.Field(r, j)
				if n, ok := parseWhole(v); ok {
					fit[r] = n >= c.typ.Min && n <= c.typ.Max
				} else {
					fit[r] = cellFits(v, c)
				}
			}
			continue
		case c.typ.Kind == spec.KindFloat:
			for r := range fit {
				if !fit[r] {
					continue
				}
				if v := b.Field(r, j); !isNumber(v) {
					fit[r] = cellFits(v, c)
				}
			}
			continue
		case c.typ.Kind == spec.KindText && c.typ.MaxChars == 0:
			continue
		case c.typ.Kind == spec.KindText:
			for r := range fit {
				if !fit[r] {
					continue
				}
				if v := b.Field(r, j); len(v) > c.typ.MaxChars {
					fit[r] = cellFits(v, c)
				}
			}
			continue
		}
		for r := range fit {
			if fit[r] {
				fit[r] = cellFits(b.Field(r, j), c)
			}
		}
	}
	b.fit, b.fitted = fit, true
}

// validValue tells whether v (not missing) fits the column type. The type
// is passed by pointer: copying it for every cell shows on a large CSV.
// The message a cell that does not fit gets is checkCells' (tabular.go);
// dates written otherwise than year first are tabular_dates.go's.
func validValue(v []byte, t *spec.ColumnType) bool {
	switch t.Kind {
	case spec.KindInt:
		n, ok := parseWhole(v)
		return ok && n >= t.Min && n <= t.Max
	case spec.KindFloat:
		return isNumber(v)
	case spec.KindBool:
		return isBool(v)
	case spec.KindDate, spec.KindDateTime:
		// A DATE takes a time too: the ingestor's validator and cast read
		// it with pd.to_datetime as they read a DATETIME, and MySQL keeps
		// the date part (a note, not an error).
		_, ok := parseDateTime(v, false)
		return ok
	case spec.KindTime:
		return isTimeOfDay(v)
	default:
		return t.MaxChars == 0 || len(v) <= t.MaxChars || utf8.RuneCount(v) <= t.MaxChars
	}
}

// parseWhole reads an integer, allowing a fraction of zeros ("3.0"): a
// column with a missing value is read as floats, and MySQL stores 3.0 in an
// INT column as 3. Spaces around the digits are allowed: pandas reads " 12 "
// as 12. A number written otherwise whose value is whole (1e5, 1.5e1) is
// one too: the ingestor's validator asks only pd.to_numeric(v) % 1 == 0.
func parseWhole(v []byte) (int64, bool) {
	v = trimBlanks(v)
	if n, ok := parseDigits(v); ok {
		return n, true
	}
	if ok, plain, _ := numericShape(v); !ok || plain {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(v), 64)
	// 2^63 is the first float64 past int64; -2^63 is in range.
	if err != nil || f != math.Trunc(f) || f < -(1<<63) || f >= 1<<63 {
		return 0, false
	}
	return int64(f), true
}

// parseDigits reads [sign] digits [. zeros], parseWhole's common case.
func parseDigits(v []byte) (int64, bool) {
	i := 0
	if len(v) > 0 && (v[0] == '-' || v[0] == '+') {
		i++
	}
	start := i
	var n int64
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		n = n*10 + int64(v[i]-'0')
		i++
	}
	digits := i - start
	if digits == 0 {
		return 0, false
	}
	end := i
	if i < len(v) {
		if v[i] != '.' {
			return 0, false
		}
		for _, z := range v[i+1:] {
			if z != '0' {
				return 0, false
			}
		}
	}
	if digits > 18 {
		// Past 18 digits an int64 may overflow: let strconv say.
		m, err := strconv.ParseInt(string(v[:end]), 10, 64)
		return m, err == nil
	}
	if v[0] == '-' {
		n = -n
	}
	return n, true
}

// trimBlanks drops the spaces and tabs around a value: pandas reads a
// number with blanks around it as the number.
func trimBlanks(v []byte) []byte {
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		v = v[:len(v)-1]
	}
	return v
}

// isNumber accepts a decimal number pandas reads as a finite number:
// numericShape, and within range (numberInRange).
func isNumber(v []byte) bool {
	v = trimBlanks(v)
	ok, plain, exp := numericShape(v)
	if !ok {
		return false
	}
	return plain && len(v) <= 18 || numberInRange(v, exp)
}

// numericShape accepts [sign] digits [. digits] [e [sign] digits]: what a
// column of numbers holds, in range or not (a schema is inferred from
// it). plain says there is neither a point nor an exponent; exp that there
// is an exponent.
func numericShape(v []byte) (ok, plain, exp bool) {
	i := 0
	if i < len(v) && (v[i] == '+' || v[i] == '-') {
		i++
	}
	digits := 0
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		i++
		digits++
	}
	plain = true
	if i < len(v) && v[i] == '.' {
		plain = false
		i++
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false, false, false
	}
	if i < len(v) && (v[i] == 'e' || v[i] == 'E') {
		plain, exp = false, true
		i++
		if i < len(v) && (v[i] == '+' || v[i] == '-') {
			i++
		}
		n := 0
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			i++
			n++
		}
		if n == 0 {
			return false, false, false
		}
	}
	return i == len(v), plain, exp
}

// numberInRange tells whether pandas reads the number v (numericShape) as
// a finite number: an integer written without point or exponent must fit
// in 64 bits (pandas stops with "Integer out of range" past them), any
// other number in a float64 (1e400 becomes infinity, which the ingestor
// refuses).
func numberInRange(v []byte, exp bool) bool {
	if ok, plain, _ := numericShape(v); ok && plain {
		if _, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return true
		}
		_, err := strconv.ParseUint(strings.TrimPrefix(string(v), "+"), 10, 64)
		return err == nil
	}
	if !exp && len(v) < 300 {
		return true
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return false
	}
	return !math.IsInf(f, 0) // an underflow reads as 0, as in pandas
}

func numberValue(v []byte) (float64, bool) {
	if !isNumber(v) {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(trimBlanks(v)), 64)
	return f, err == nil
}

// isBool tells whether v is a boolean the ingestor takes: its validator
// and its cast read true/false, yes/no, t/f, y/n in any case, and 0 or 1,
// blanks around them allowed.
func isBool(v []byte) bool {
	v = trimBlanks(v)
	switch len(v) {
	case 1, 2, 3, 4, 5:
	default:
		return false
	}
	var low [5]byte
	for i, c := range v {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		low[i] = c
	}
	switch string(low[:len(v)]) {
	case "true", "false", "yes", "no", "t", "f", "y", "n", "0", "1", "0.0", "1.0":
		return true
	}
	return false
}

func digitsAt(v []byte, i, n int) (int, bool) {
	if i+n > len(v) {
		return 0, false
	}
	x := 0
	for _, c := range v[i : i+n] {
		if c < '0' || c > '9' {
			return 0, false
		}
		x = x*10 + int(c-'0')
	}
	return x, true
}

// parseDateTime reads YYYY-MM-DD (or YYYY/MM/DD), then, unless dateOnly, an
// optional time [T ]HH:MM[:SS[.fraction]] and zone (Z or ±HH:MM). A time
// without a zone is taken as UTC.
func parseDateTime(v []byte, dateOnly bool) (stamp, bool) {
	y, ok1 := digitsAt(v, 0, 4)
	mo, ok2 := digitsAt(v, 5, 2)
	d, ok3 := digitsAt(v, 8, 2)
	if !ok1 || !ok2 || !ok3 || v[4] != v[7] || (v[4] != '-' && v[4] != '/') || mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) {
		return stamp{}, false
	}
	if len(v) == 10 {
		return stamp{sec: civilSeconds(y, mo, d, 0, 0, 0)}, true
	}
	if dateOnly || (v[10] != ' ' && v[10] != 'T') {
		return stamp{}, false
	}
	h, ok1 := digitsAt(v, 11, 2)
	mi, ok2 := digitsAt(v, 14, 2)
	if !ok1 || !ok2 || v[13] != ':' || h > 23 || mi > 59 {
		return stamp{}, false
	}
	i, sec, nsec := 16, 0, 0
	if i < len(v) && v[i] == ':' {
		s, ok := digitsAt(v, i+1, 2)
		if !ok || s > 59 {
			return stamp{}, false
		}
		sec, i = s, i+3
		if i < len(v) && v[i] == '.' {
			i++
			scale, n := 100000000, 0
			for i < len(v) && v[i] >= '0' && v[i] <= '9' {
				nsec += int(v[i]-'0') * scale
				scale /= 10
				i++
				n++
			}
			if n == 0 {
				return stamp{}, false
			}
		}
	}
	off := 0
	switch {
	case i == len(v):
	case v[i] == 'Z' && i+1 == len(v):
	case (v[i] == '+' || v[i] == '-') && len(v) == i+6 && v[i+3] == ':':
		zh, ok1 := digitsAt(v, i+1, 2)
		zm, ok2 := digitsAt(v, i+4, 2)
		if !ok1 || !ok2 {
			return stamp{}, false
		}
		off = zh*3600 + zm*60
		if v[i] == '-' {
			off = -off
		}
	default:
		return stamp{}, false
	}
	return stamp{sec: civilSeconds(y, mo, d, h, mi, sec) - int64(off), nsec: nsec}, true
}

// stamp is an instant as Unix seconds and nanoseconds: cheaper than a
// time.Time on every row of a large CSV.
type stamp struct {
	sec  int64
	nsec int
}

func (a stamp) before(b stamp) bool { return a.sec < b.sec || a.sec == b.sec && a.nsec < b.nsec }

// civilSeconds is the Unix time of a UTC date and time (proleptic Gregorian).
func civilSeconds(y, m, d, h, mi, s int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	days := int64(era)*146097 + int64(doe) - 719468
	return days*86400 + int64(h*3600+mi*60+s)
}

func daysIn(y, m int) int {
	return time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func isTimeOfDay(v []byte) bool {
	h, ok1 := digitsAt(v, 0, 2)
	m, ok2 := digitsAt(v, 3, 2)
	if !ok1 || !ok2 || v[2] != ':' || h > 23 || m > 59 {
		return false
	}
	if len(v) == 5 {
		return true
	}
	s, ok := digitsAt(v, 6, 2)
	return ok && v[5] == ':' && s <= 59 && len(v) == 8
}

// inferType picks the narrowest type every sampled value of a column fits.
type typeGuess struct {
	values                       int
	notInt, notNum, notBool      bool
	notDate, notDateTime, notTOD bool
	min, max                     int64
	maxChars                     int
}

func (g *typeGuess) add(v []byte) {
	if isMissing(v) {
		return
	}
	g.values++
	if n := utf8.RuneCount(v); n > g.maxChars {
		g.maxChars = n
	}
	if !g.notInt {
		if n, ok := parseWhole(v); ok {
			if g.values == 1 || n < g.min {
				g.min = n
			}
			if g.values == 1 || n > g.max {
				g.max = n
			}
		} else {
			g.notInt = true
		}
	}
	if !g.notNum {
		ok, _, _ := numericShape(trimBlanks(v))
		g.notNum = !ok
	}
	g.notBool = g.notBool || !isBoolWord(string(v))
	if !g.notDate {
		_, ok := parseDateTime(v, true)
		g.notDate = !ok
	}
	if !g.notDateTime {
		_, ok := parseDateTime(v, false)
		g.notDateTime = !ok
	}
	g.notTOD = g.notTOD || !isTimeOfDay(v)
}

func (g *typeGuess) sql() string {
	switch {
	case g.values == 0:
		return "VARCHAR(255)"
	case !g.notBool:
		return "BOOLEAN"
	case !g.notInt && g.min >= -1<<31 && g.max <= 1<<31-1:
		return "INT"
	case !g.notInt:
		return "BIGINT"
	case !g.notNum:
		return "DOUBLE"
	case !g.notDate:
		return "DATE"
	case !g.notDateTime:
		return "DATETIME"
	case !g.notTOD:
		return "TIME"
	case g.maxChars <= 255:
		return "VARCHAR(255)"
	}
	return "TEXT"
}

// isBoolWord reports whether v spells a boolean the way pandas reads one.
func isBoolWord(v string) bool {
	switch v {
	case "true", "false", "True", "False", "TRUE", "FALSE":
		return true
	}
	return false
}

// isBlank tells whether v is empty or white space only, as Python's
// str.strip() leaves it.
func isBlank(v []byte) bool {
	return len(bytes.TrimSpace(v)) == 0
}

// dateShape is how a date or time is written, as far as a strptime format
// tells: the date's separator, a time and its separator, seconds, a
// fraction, a zone. Two values of one shape match one format.
type dateShape uint8

const (
	shapeSlash dateShape = 1 << iota
	shapeTime
	shapeT
	shapeSeconds
	shapeFraction
	shapeZone
)

// shapeOf is the shape of v, a value of a column of kind k; false when v
// is not such a value.
func shapeOf(v []byte, k spec.ValueKind) (dateShape, bool) {
	if k == spec.KindTime {
		if !isTimeOfDay(v) {
			return 0, false
		}
		return quickShape(v, k), true
	}
	if _, ok := parseDateTime(v, false); !ok {
		return 0, false
	}
	return quickShape(v, k), true
}

// quickShape is the shape of v read off its separators alone, without
// checking it is a date: what shapeOf says of a valid value, at a fraction
// of the cost (it runs on every cell of a date column).
func quickShape(v []byte, k spec.ValueKind) dateShape {
	if k == spec.KindTime {
		if len(v) > 5 {
			return shapeSeconds
		}
		return 0
	}
	if len(v) < 10 {
		return 0
	}
	var sh dateShape
	if v[4] == '/' {
		sh |= shapeSlash
	}
	if len(v) == 10 {
		return sh
	}
	sh |= shapeTime
	if v[10] == 'T' {
		sh |= shapeT
	}
	i := 16
	if i < len(v) && v[i] == ':' {
		sh |= shapeSeconds
		i += 3
		if i < len(v) && v[i] == '.' {
			sh |= shapeFraction
		}
	}
	if hasZone(v) {
		sh |= shapeZone
	}
	return sh
}

// hasZone tells whether v, a date and time parseDateTime reads, ends in a
// zone (Z or ±HH:MM).
func hasZone(v []byte) bool {
	if len(v) <= 16 {
		return false
	}
	if v[len(v)-1] == 'Z' {
		return true
	}
	return len(v) >= 22 && (v[len(v)-6] == '+' || v[len(v)-6] == '-') && v[len(v)-3] == ':'
}
