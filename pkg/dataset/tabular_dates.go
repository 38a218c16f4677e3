package dataset

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Dates written otherwise than year first with - or / (12/31/2024,
// 31.12.2024, 20241231, Jan 5, 2024) in a declared DATE or DATETIME column.
// The ingestor's validator reads such a column with pd.to_datetime and no
// format: pandas guesses one format from the column's first value and holds
// every other value to it exactly, as strptime does (a value that does not
// match is an invalid date). So the first value decides, with pandas'
// guess: month first when the first number can be a month, day first only
// when it cannot (25/06/2024).
//
// From a first value pandas guesses no format for (a two-digit year, a
// month's name in lower case), pandas parses each value on its own with
// dateutil, which takes any of these shapes and more, in any mix. The
// pre-flight follows it for the shapes above and numeric dates with a
// two-digit year (twoDigitYearDate), read as dateutil reads them; a value
// of any other shape is refused (dateutil may read more).

// dateOrder is the order of a date's parts in a format.
type dateOrder uint8

const (
	monthDayYear dateOrder = iota // %m/%d/%Y
	dayMonthYear                  // %d/%m/%Y
	yearMonthDay                  // %Y.%m.%d
	compactYMD                    // %Y%m%d
	namedMonth                    // a month's name: %b, %B
)

// otherDateFormat is one format pandas guesses for such a date.
type otherDateFormat struct {
	order dateOrder
	sep   byte // between the parts of a numeric date
	// clock is the time after the date: 0 none, 2 " %H:%M", 3 " %H:%M:%S".
	clock int
	// named is the expression of a format with a month's name (order
	// namedMonth), with submatches year, month, day at year/month/day.
	named            *regexp.Regexp
	year, month, day int
	layout           string
}

// String is the format as strptime writes it, for messages.
func (f *otherDateFormat) String() string {
	if f.order == namedMonth {
		return f.layout
	}
	s := string(f.sep)
	var l string
	switch f.order {
	case monthDayYear:
		l = "%m" + s + "%d" + s + "%Y"
	case dayMonthYear:
		l = "%d" + s + "%m" + s + "%Y"
	case yearMonthDay:
		l = "%Y" + s + "%m" + s + "%d"
	default:
		l = "%Y%m%d"
	}
	return l + [...]string{"", "", " %H:%M", " %H:%M:%S"}[f.clock]
}

// numericDate is a date of numbers as read off its characters.
type numericDate struct {
	first, second, year int
	sep                 byte
	order               dateOrder // yearMonthDay and compactYMD; else unknown
	clock               int
}

// readNumericDate reads D{1,2}sD{1,2}sYYYY, YYYY.M{1,2}.D{1,2} or YYYYMMDD,
// then an optional time " H{1,2}:MM[:SS]", with the bounds strptime holds
// each part to; ok is false for anything else.
func readNumericDate(v []byte) (d numericDate, ok bool) {
	date, clock, _ := strings.Cut(string(v), " ")
	if len(date) == 8 && allDigits(date) {
		d.year, _ = strconv.Atoi(date[:4])
		d.first, _ = strconv.Atoi(date[4:6])
		d.second, _ = strconv.Atoi(date[6:])
		d.order = compactYMD
	} else {
		if len(date) < 8 {
			return d, false
		}
		var parts []string
		for _, sep := range []byte{'/', '-', '.'} {
			if strings.IndexByte(date, sep) >= 0 {
				parts = strings.Split(date, string(sep))
				d.sep = sep
				break
			}
		}
		if len(parts) != 3 {
			return d, false
		}
		if len(parts[0]) == 4 && d.sep == '.' {
			parts = []string{parts[1], parts[2], parts[0]}
			d.order = yearMonthDay
		} else if len(parts[0]) == 4 {
			return d, false // year first with - or /: parseDateTime's
		}
		if len(parts[2]) != 4 || len(parts[0]) > 2 || len(parts[1]) > 2 {
			return d, false
		}
		for _, p := range parts {
			if p == "" || !allDigits(p) {
				return d, false
			}
		}
		d.first, _ = strconv.Atoi(parts[0])
		d.second, _ = strconv.Atoi(parts[1])
		d.year, _ = strconv.Atoi(parts[2])
	}
	if clock != "" {
		f := strings.Split(clock, ":")
		if len(f) < 2 || len(f) > 3 {
			return d, false
		}
		limits := []int{23, 59, 59}
		for i, p := range f {
			n, err := strconv.Atoi(p)
			if p == "" || len(p) > 2 || !allDigits(p) || err != nil || n > limits[i] {
				return d, false
			}
		}
		d.clock = len(f)
	}
	return d, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validDay tells whether y-m-d exists.
func validDay(y, m, d int) bool {
	return m >= 1 && m <= 12 && d >= 1 && d <= daysIn(y, m)
}

// namedFormats are the formats with a month's name pandas guesses from a
// first value with a capital (Jan 5, 2024; 5 January 2024; 05-Jan-2024).
var namedFormats = func() []*otherDateFormat {
	names := func(ns []string) string {
		// Longest first, as strptime orders them (May before Mar… is
		// no matter; June before Jun is).
		out := append([]string(nil), ns...)
		for i := 1; i < len(out); i++ {
			for j := i; j > 0 && len(out[j]) > len(out[j-1]); j-- {
				out[j], out[j-1] = out[j-1], out[j]
			}
		}
		return "(" + strings.Join(out, "|") + ")"
	}
	directive := map[string]string{
		"%d": `(3[01]|[12]\d|0[1-9]|[1-9]| [1-9])`,
		"%Y": `(\d\d\d\d)`,
		"%b": names(monthAbbrevs[:]),
		"%B": names(monthNames[:]),
	}
	var out []*otherDateFormat
	for _, l := range []string{"%b %d, %Y", "%b %d %Y", "%d %b %Y", "%d-%b-%Y", "%B %d, %Y", "%B %d %Y", "%d %B %Y", "%d-%B-%Y"} {
		for _, clock := range []int{0, 2, 3} {
			tl := [...]string{"", "", " %H:%M", " %H:%M:%S"}[clock]
			f := &otherDateFormat{order: namedMonth, clock: clock, layout: l + tl}
			var b strings.Builder
			b.WriteString(`(?i)^`)
			group := 0
			for i := 0; i < len(l); i++ {
				switch c := l[i]; c {
				case '%':
					i++
					tok := l[i-1 : i+1]
					b.WriteString(directive[tok])
					group++
					switch tok {
					case "%d":
						f.day = group
					case "%Y":
						f.year = group
					default:
						f.month = group
					}
				case ' ':
					b.WriteString(`\s+`) // strptime: a space matches any run of them
				default:
					b.WriteString(regexp.QuoteMeta(string(c)))
				}
			}
			b.WriteString([...]string{"", "", `\s+(?:2[0-3]|[01]\d|\d):(?:[0-5]\d|\d)`, `\s+(?:2[0-3]|[01]\d|\d):(?:[0-5]\d|\d):(?:[0-5]\d|\d)`}[clock])
			b.WriteString(`$`)
			f.named = regexp.MustCompile(b.String())
			out = append(out, f)
		}
	}
	return out
}()

var monthNames = [12]string{"January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December"}

var monthAbbrevs = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// guessNamed is a first value pandas guesses a named format from; a later
// value matches its format in any case (anyCaseNamed).
var (
	guessNamed   = regexp.MustCompile(namedShape)
	anyCaseNamed = regexp.MustCompile(`(?i)` + namedShape)
)

const namedShape = `^(?:[A-Z][a-z]+ \d{1,2},? \d{4}|\d{1,2}[ -][A-Z][a-z]+[ -]\d{4})(?: \d{1,2}:\d{2}(?::\d{2})?)?$`

// guessOtherDate is the format pandas guesses from v, the first value of a
// date column, when v is not written year first with - or / (nil when
// pandas guesses none, or v is no date in the format guessed).
func guessOtherDate(v []byte) *otherDateFormat {
	if d, ok := readNumericDate(v); ok {
		f := &otherDateFormat{order: d.order, sep: d.sep, clock: d.clock}
		if d.order != yearMonthDay && d.order != compactYMD {
			f.order = monthDayYear
			if d.first > 12 {
				f.order = dayMonthYear
			}
		}
		if !f.matches(v) {
			return nil
		}
		return f
	}
	if !guessNamed.Match(v) {
		return nil
	}
	for _, f := range namedFormats {
		// The capitalised name decides between %b and %B.
		if f.matches(v) && (strings.Contains(f.layout, "%B") == hasFullMonthName(v)) {
			if strings.Contains(f.layout, "-") != (strings.IndexByte(string(v), '-') >= 0) ||
				strings.Contains(f.layout, ",") != (strings.IndexByte(string(v), ',') >= 0) {
				continue
			}
			return f
		}
	}
	return nil
}

func hasFullMonthName(v []byte) bool {
	for _, n := range monthNames {
		if len(n) > 3 && strings.Contains(string(v), n) {
			return true
		}
	}
	return false
}

// matches tells whether strptime(v, f) gives a date: the whole of v
// matches f and the day exists in its month.
func (f *otherDateFormat) matches(v []byte) bool {
	y, m, d, ok := f.parts(v)
	return ok && validDay(y, m, d)
}

// parts reads year, month and day of v in format f.
func (f *otherDateFormat) parts(v []byte) (y, m, d int, ok bool) {
	if f.order == namedMonth {
		sm := f.named.FindSubmatch(v)
		if sm == nil {
			return 0, 0, 0, false
		}
		y, _ = strconv.Atoi(string(sm[f.year]))
		d, _ = strconv.Atoi(strings.TrimSpace(string(sm[f.day])))
		for i := range monthNames {
			if strings.EqualFold(string(sm[f.month]), monthNames[i]) || strings.EqualFold(string(sm[f.month]), monthAbbrevs[i]) {
				m = i + 1
			}
		}
		return y, m, d, true
	}
	n, ok := readNumericDate(v)
	if !ok || n.sep != f.sep || n.clock != f.clock {
		return 0, 0, 0, false
	}
	switch f.order {
	case monthDayYear:
		return n.year, n.first, n.second, n.order != yearMonthDay && n.order != compactYMD
	case dayMonthYear:
		return n.year, n.second, n.first, n.order != yearMonthDay && n.order != compactYMD
	default:
		return n.year, n.first, n.second, n.order == f.order
	}
}

// isOtherDate tells whether v is a date in a format pandas may guess for a
// column: the cell check's test. Which format holds for the column is the
// date shape rule's (dateShapeRule), from its first value.
func isOtherDate(v []byte) bool {
	if n, ok := readNumericDate(v); ok {
		if n.order == yearMonthDay || n.order == compactYMD {
			return validDay(n.year, n.first, n.second)
		}
		return validDay(n.year, n.first, n.second) || validDay(n.year, n.second, n.first)
	}
	if len(v) > 40 || !anyCaseNamed.Match(v) {
		return false
	}
	for _, f := range namedFormats {
		if f.matches(v) {
			return true
		}
	}
	return false
}

// readMonthFirst tells whether the ingestor's cast, which parses each value
// of a date column on its own and month first, reads v (a value of a
// day-first column) as another date than the validator did: a day of 12 or
// less that is not also the month (05/06/2024 is stored as May 6).
func (f *otherDateFormat) readMonthFirst(v []byte) bool {
	if f.order != dayMonthYear {
		return false
	}
	_, m, d, ok := f.parts(v)
	return ok && d <= 12 && d != m
}

// twoDigitYearDate tells whether dateutil reads v as a date: D{1,2}sD{1,2}sYY
// (s one of / - .), then an optional time " H{1,2}:MM[:SS]". Its three
// numbers are year, month, day when the first is over 31, day, month, year
// when it is over 12, month, day, year otherwise; a two-digit year is the
// one within 50 years of now (24 is 2024, 80 is 1980).
func twoDigitYearDate(v []byte) bool {
	date, clock, _ := strings.Cut(string(v), " ")
	if len(date) < 6 || len(date) > 8 {
		return false
	}
	sep := byte(0)
	for _, c := range []byte{'/', '-', '.'} {
		if strings.IndexByte(date, c) >= 0 {
			sep = c
			break
		}
	}
	parts := strings.Split(date, string(sep))
	if sep == 0 || len(parts) != 3 {
		return false
	}
	var n [3]int
	for i, p := range parts {
		if p == "" || len(p) > 2 || !allDigits(p) || (i == 2 && len(p) != 2) {
			return false
		}
		n[i], _ = strconv.Atoi(p)
	}
	if clock != "" {
		if _, ok := readNumericDate([]byte("01/01/2000 " + clock)); !ok {
			return false
		}
	}
	year := func(yy int) int {
		now := time.Now().Year()
		y := now/100*100 + yy
		if y >= now+50 {
			y -= 100
		}
		return y
	}
	switch {
	case n[0] > 31:
		return validDay(year(n[0]), n[1], n[2])
	case n[0] > 12:
		return validDay(year(n[2]), n[1], n[0])
	default:
		return validDay(year(n[2]), n[0], n[1])
	}
}

// parsedOneByOne tells whether pandas, given v as a date column's first
// value, guesses no format and parses each value on its own (v is then a
// date to dateutil: the cell check holds every value to that).
func parsedOneByOne(v []byte) bool {
	return twoDigitYearDate(v) || (!guessNamed.Match(v) && isOtherDate(v) && !isNumericOther(v))
}

// isNumericOther tells whether v is a numeric date of readNumericDate's.
func isNumericOther(v []byte) bool {
	_, ok := readNumericDate(v)
	return ok
}
