package dataset

import (
	"strings"
	"testing"
)

// TestGuessOtherDate: the format guessed from a column's first value is
// the one pandas' guess_datetime_format(v, dayfirst=False) gives (read off
// the ingestor's pandas); nil where it guesses none or the value is no
// date in it.
func TestGuessOtherDate(t *testing.T) {
	for v, want := range map[string]string{
		"05/06/2024":          "%m/%d/%Y",
		"25/06/2024":          "%d/%m/%Y",
		"05/25/2024":          "%m/%d/%Y",
		"5/6/2024":            "%m/%d/%Y",
		"25.06.2024":          "%d.%m.%Y",
		"05.06.2024":          "%m.%d.%Y",
		"2024.06.05":          "%Y.%m.%d",
		"2024.6.5":            "%Y.%m.%d",
		"20240605":            "%Y%m%d",
		"05-06-2024":          "%m-%d-%Y",
		"25-06-2024":          "%d-%m-%Y",
		"Jan 05, 2024":        "%b %d, %Y",
		"Jan 5 2024":          "%b %d %Y",
		"05 Jan 2024":         "%d %b %Y",
		"05-Jan-2024":         "%d-%b-%Y",
		"January 5, 2024":     "%B %d, %Y",
		"5 January 2024":      "%d %B %Y",
		"5/6/2024 9:00":       "%m/%d/%Y %H:%M",
		"31/12/2024 23:59:59": "%d/%m/%Y %H:%M:%S",
		"5 Jun 2024 10:00":    "%d %b %Y %H:%M",
		"13/13/2024":          "",
		"02/30/2024":          "",
		"20241301":            "",
		"06/05/24":            "",
		"jan 05, 2024":        "",
		"Sept 5, 2024":        "",
		"2024-06-05":          "", // parseDateTime's
		"05/06-2024":          "",
		"1/2/2024 10:00:00.5": "",
		"12345678x":           "",
	} {
		got := ""
		if f := guessOtherDate([]byte(v)); f != nil {
			got = f.String()
		}
		if got != want {
			t.Errorf("guessOtherDate(%q) = %q, want %q", v, got, want)
		}
	}
}

// TestOtherDateMatches: a value is held to its column's format as strptime
// holds it: one or two digits, the day within its month, names in any case.
func TestOtherDateMatches(t *testing.T) {
	f := guessOtherDate([]byte("05/06/2024"))
	for v, want := range map[string]bool{"12/31/2024": true, "1/2/2024": true, "02/29/2024": true, "02/29/2023": false,
		"31/12/2024": false, "12-31-2024": false, "12/31/2024 10:00": false, "2024-12-31": false, "00/10/2024": false} {
		if got := f.matches([]byte(v)); got != want {
			t.Errorf("%%m/%%d/%%Y matches %q = %v, want %v", v, got, want)
		}
	}
	named := guessOtherDate([]byte("Jan 05, 2024"))
	for v, want := range map[string]bool{"feb 29, 2024": true, "Dec 31, 2024": true, "Dec 32, 2024": false, "December 31, 2024": false} {
		if got := named.matches([]byte(v)); got != want {
			t.Errorf("%%b %%d, %%Y matches %q = %v, want %v", v, got, want)
		}
	}
}

// TestOtherDatesInAColumn: the first value of a declared date column
// decides its format; a value in another is refused with both named, and a
// day-first column whose days may be read month first gets a note.
// TestTwoDigitYearDates: dateutil's reading of a numeric date with a
// two-digit year (checked against the ingestor's pandas by
// test/parity's date shapes).
func TestTwoDigitYearDates(t *testing.T) {
	for v, want := range map[string]bool{
		"01/05/24": true, "1-5-24": true, "13.05.24": true, "31/12/99": true, "02/29/24": true,
		"02/29/25": false, "29/02/00": true, "45/02/29": false, "44/02/29": true, "13/13/24": false,
		"01/05/24 10:30": true, "01/05/24 24:00": false, "01/05/2024": false, "01/05": false,
		"01/05-24": false, "001/05/24": false, "a1/05/24": false,
	} {
		if got := twoDigitYearDate([]byte(v)); got != want {
			t.Errorf("twoDigitYearDate(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestOtherDatesInAColumn(t *testing.T) {
	opts := TabularOptions{LabelColumn: "label", MinLabels: 2, Schema: mustSchema(t, "day:DATE,x:INT,label:VARCHAR(8)")}
	check := func(days ...string) (*Tabular, error) {
		var b strings.Builder
		b.WriteString("day,x,label\n")
		for i, d := range days {
			b.WriteString(d + ",1," + []string{"a", "b"}[i%2] + "\n")
		}
		return CheckTabular(writeCSV(t, b.String()), opts)
	}
	for _, days := range [][]string{
		{"12/31/2024", "01/05/2024", "1/6/2024"},
		{"31.12.2024", "25.01.2024", "30.06.2024"},
		{"20241231", "20240105", ""},
		{`"Jan 05, 2024"`, `"feb 29, 2024"`, "NA"},
		// No format guessed from the first value: each value on its own.
		{"01/05/24", "17.05.24 10:30", "2024-06-03", `"jun 3, 2024"`, "31.12.2024", "02/29/24"},
		{`"jan 05, 2024"`, "19.06.24", "12/31/2024"},
	} {
		tb, err := check(days...)
		if err != nil {
			t.Errorf("%v: %v", days, err)
		} else if len(tb.Notes) != 0 {
			t.Errorf("%v: notes %q, want none", days, tb.Notes)
		}
	}
	for _, c := range []struct {
		days []string
		want string
	}{
		{[]string{"05/06/2024", "25/06/2024"}, `data.csv line 3: "day" is "25/06/2024", written another way than its first value "05/06/2024" (line 2 (%m/%d/%Y))`},
		{[]string{"05/06/2024", "2024-06-05"}, `"day" is "2024-06-05", written another way than its first value "05/06/2024"`},
		{[]string{"2024-06-05", "12/31/2024"}, `"day" is "12/31/2024", written another way than its first value "2024-06-05" (line 2)`},
		{[]string{"05/06/2024", "05-07-2024"}, `"day" is "05-07-2024", written another way`},
		{[]string{"01/30/2024", "02/30/2024"}, `data.csv line 3: "day" is "02/30/2024", not a date the ingestor reads (2024-12-31, 12/31/2024`},
		{[]string{"01/05/2024", "01/06/24"}, `"day" is "01/06/24", written another way than its first value "01/05/2024"`},
		{[]string{"2024-06-05", "06/05/24"}, `"day" is "06/05/24", written another way than its first value "2024-06-05"`},
		{[]string{"01/05/24", "02/29/25"}, `"day" is "02/29/25", not a date the ingestor reads`},
		{[]string{"01/05/24", "13/13/24"}, `"day" is "13/13/24", not a date the ingestor reads`},
	} {
		_, err := check(c.days...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want a problem saying %s", c.days, err, c.want)
		}
	}
	tb, err := check("25/06/2024", "05/06/2024", "30/06/2024", "06/06/2024")
	if err != nil {
		t.Fatal(err)
	}
	if len(tb.Notes) != 1 || !strings.Contains(tb.Notes[0], `1 values of "day" in data.csv are dates written day first with a day of 12 or less (the first, line 3: "05/06/2024")`) {
		t.Errorf("notes %q, want one on the day-first value read month first", tb.Notes)
	}
}
