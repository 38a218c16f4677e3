package parity

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// regression is a case of issue 22: a dataset the pre-flight and the
// ingestor judged differently, with the ingestor's verdict the issue
// recorded (the test checks the oracle still gives it).
type regression struct {
	task, mutation, what string
	ingestorAccepts      bool
	// edit, when set, replaces the mutation's random choice with the case's
	// exact data.
	edit func(s *sample)
}

func cell(col, v string) func(s *sample) {
	return func(s *sample) { setCell(s, col, 0, v) }
}

// regressions: "36 pass the pre-flight and are refused by the ingestor",
// "21 are refused by the pre-flight and accepted by the ingestor", the `id`
// columns of the ingestor's samples, <difficult>2</difficult>, and
// `img,Rome\, IT`.
var regressions = []regression{
	// refused by the ingestor
	{"text_classification", "names-all-digits", "file names all digits (0001)", false, bareDigits},
	{"token_classification", "names-all-digits", "file names all digits (0001)", false, bareDigits},
	{"masked_language_modeling", "names-all-digits", "file names all digits (0001)", false, bareDigits},
	{"masked_language_modeling", "trailing-backslash", `a \ at the end of a labels.csv line`, false, nil},
	{"tabular_regression", "trailing-backslash", `a \ at the end of a CSV line`, false, nil},
	{"token_classification", "bio-continued", `BIO tags continued onto the next line with \`, false, nil},
	{"text_classification", "tokenizer-model-null", "tokenizer.json model null", false, nil},
	{"masked_language_modeling", "tokenizer-model-null", "tokenizer.json model null", false, nil},
	{"text_classification", "tokenizer-model-twice", "tokenizer.json model twice", false, nil},
	{"masked_language_modeling", "tokenizer-model-twice", "tokenizer.json model twice", false, nil},
	{"tabular_classification", "header-leading-space", "a header name with a leading space, schema inferred", false,
		func(s *sample) { renameHeader(s, "f2", " f2") }},
	{"tabular_regression", "header-leading-space", "a header name with a leading space, schema inferred", false,
		func(s *sample) { renameHeader(s, "city", " city") }},
	{"tabular_classification", "feature-named-LABEL", "a column named LABEL beside label", false, upperTwin},
	{"tabular_regression", "feature-named-label", "a feature column named label", false, nil},
	{"time_to_event_prediction", "feature-named-label", "a feature column named label", false, nil},
	{"tabular_classification", "name-79", "a 79-character column name", false, nil},
	{"tabular_classification", "schema-char2", "CHAR(2) for longer values", false, nil},
	{"tabular_classification", "schema-varchar-wide", "a table too wide for a MySQL row", false, nil},
	{"tabular_regression", "wide-table", "a table too wide for a MySQL row (inferred)", false, nil},
	{"tabular_classification", "number-edge", "1e400", false, cell("f1", "1e400")},
	{"tabular_regression", "number-edge-float", "1e400", false, cell("f2", "1e400")},
	{"tabular_classification", "date-two-shapes", "a date column in two shapes", false, func(s *sample) {
		addColumn(s, "day", func(i int) string { return []string{"2024-01-%02d", "2024-01-%02d 10:00:00"}[i%2] })
		fixDays(s)
	}},
	{"time_series_forecasting", "timestamp-declared", "timestamp declared DATE", false,
		func(s *sample) { s.schema = declaredSchema(s, map[string]string{"timestamp": "DATE"}) }},
	{"time_series_forecasting", "timestamp-declared", "timestamp declared DATETIME", false,
		func(s *sample) { s.schema = declaredSchema(s, map[string]string{"timestamp": "DATETIME"}) }},
	{"time_series_forecasting", "timestamp-declared", "timestamp declared BIGINT", false, func(s *sample) {
		s.tab.set("timestamp", nil, func(i int, _ string) string { return fmt.Sprint(1704067200 + 60*i) })
		s.schema = declaredSchema(s, map[string]string{"timestamp": "BIGINT"})
	}},
	// Dates alone were inferred as DATE, which the ingestor refuses for a
	// forecast; the pre-flight now infers TIMESTAMP, which it takes.
	{"time_series_forecasting", "timestamp-shape", "timestamp of dates only, inferred as TIMESTAMP (was DATE)", true,
		func(s *sample) {
			s.tab.set("timestamp", nil, func(i int, _ string) string { return fmt.Sprintf("2024-01-%02d", i+1) })
		}},
	{"time_series_forecasting", "timestamp-z", "times ending in Z", false, nil},
	{"time_series_forecasting", "timestamp-today", "a row dated today", false, nil},
	{"tabular_classification", "name-trailing-twin", "area and 'area ' as two columns", false, nil},
	{"time_series_forecasting", "tsf-text-feature", "a text feature in a forecasting CSV", false, nil},
	{"tabular_classification", "date-dash-slash", "- and / mixed in dates", false, nil},
	// review3: MySQL has SMALLINT, the ingestor's DataValidator does not
	// ("Unknown data type"); the values fit, so only the type was wrong.
	{"tabular_classification", "schema-smallint", "a column declared SMALLINT", false, func(s *sample) {
		addColumn(s, "n", func(i int) string { return fmt.Sprint(i % 7) })
		s.schema = declaredSchema(s, map[string]string{"n": "SMALLINT"})
	}},

	// accepted by the ingestor
	{"text_classification", "na-class-everywhere", "None as a class name", true, func(s *sample) {
		s.tab.set("label", func(i int) bool { return i%2 == 0 }, func(int, string) string { return "None" })
	}},
	{"text_classification", "na-class-everywhere", "NA as a class name", true, func(s *sample) {
		s.tab.set("label", func(i int) bool { return i%2 == 0 }, func(int, string) string { return "NA" })
	}},
	{"image_classification", "na-class-everywhere", "None as a class name", true, func(s *sample) {
		s.tab.set("label", func(i int) bool { return i%2 == 0 }, func(int, string) string { return "None" })
	}},
	{"text_classification", "name-with-dot", "a stem with a dot (report.v2)", true, nil},
	{"text_classification", "ds-store", "a .DS_Store in texts/", true, nil},
	{"masked_language_modeling", "ds-store", "a .DS_Store in sequences/", true, nil},
	{"tabular_classification", "header-space-inside", "spaces in header names", true, nil},
	{"tabular_classification", "bom", "a BOM on a tabular CSV", true, nil},
	{"tabular_regression", "bom", "a BOM on a tabular CSV", true, nil},
	{"text_classification", "cr-only", "lines ending in a lone CR", true, nil},
	{"tabular_classification", "cr-only", "lines ending in a lone CR", true, nil},
	{"tabular_classification", "number-spaces", "numbers with spaces around them", true, nil},
	{"tabular_classification", "bool-yes-no", "BOOLEAN written yes/no", true, func(s *sample) {
		addColumn(s, "flag", func(i int) string { return []string{"yes", "no"}[i%2] })
		s.schema = declaredSchema(s, map[string]string{"flag": "BOOLEAN"})
	}},
	{"text_classification", "trailing-comma", "a trailing comma on every line", true, nil},
	// review3: the ingestor reads a DATE with pd.to_datetime like a
	// DATETIME, and MySQL keeps the date part; the pre-flight refused the time.
	{"tabular_classification", "date-declared-time", "a DATE column holding times with a zone", true, func(s *sample) {
		addColumn(s, "day", func(i int) string { return fmt.Sprintf("2024-01-%02dT10:00:00+02:00", i%28+1) })
		s.schema = declaredSchema(s, map[string]string{"day": "DATE"})
	}},
	// review3: the ingestor's INT validator asks only that the number be whole.
	{"tabular_classification", "int-exponent", "an INT written 1e5", true, func(s *sample) {
		addColumn(s, "n", func(i int) string { return []string{"1e5", "15", "1.5e1"}[i%3] })
		s.schema = declaredSchema(s, map[string]string{"n": "INT"})
	}},
	{"tabular_classification", "date-declared-time", "a DATE column holding times", true, func(s *sample) {
		addColumn(s, "day", func(i int) string { return fmt.Sprintf("2024-01-%02d 10:00:00", i%28+1) })
		s.schema = declaredSchema(s, map[string]string{"day": "DATE"})
	}},

	// Dates in a declared DATE column written otherwise than year first:
	// pandas guesses the column's format from its first value.
	{"tabular_classification", "date-other-shape", "DATE written month first (12/31/2024)", true, dated("%02d/%02d/2024", false)},
	{"tabular_regression", "date-other-shape", "DATE written day first (25/06/2024 first)", true, dated("%02d/%02d/2024", true)},
	{"tabular_classification", "date-other-shape", "DATE written 31.12.2024", true, dated("%02d.%02d.2024", true)},
	{"tabular_classification", "date-other-shape", "DATE written 2024.12.31", true, datedWith(func(i int) string { return fmt.Sprintf("2024.%d.%d", 1+i%12, 1+i%28) })},
	{"tabular_classification", "date-other-shape", "DATE written 20241231", true, datedWith(func(i int) string { return fmt.Sprintf("2024%02d%02d", 1+i%12, 1+i%28) })},
	{"tabular_classification", "date-other-shape", "DATE written Jan 05, 2024", true, datedWith(func(i int) string { return fmt.Sprintf("%s %02d, 2024", monthAbbrev[i%12], 1+i%28) })},
	{"tabular_classification", "date-other-shape", "DATETIME written 5 June 2024 10:30", true, func(s *sample) {
		addColumn(s, "day", func(i int) string { return fmt.Sprintf("%d %s 2024 10:%02d", 1+i%28, monthName[i%12], i%60) })
		s.schema = declaredSchema(s, map[string]string{"day": "DATETIME"})
	}},
	{"tabular_regression", "date-other-shape", "DATE with month names in lower case (no format guessed)", true, datedWith(func(i int) string {
		return fmt.Sprintf("%s %d, 2024", strings.ToLower(monthAbbrev[i%12]), 1+i%28)
	})},
	{"tabular_classification", "date-other-shape", "DATE month first, then a day past 12 first", false, datedWith(func(i int) string {
		return []string{"05/06/2024", "25/06/2024"}[min(i, 1)]
	})},
	{"tabular_regression", "date-other-shape", "DATE month first, then year first", false, datedWith(func(i int) string {
		return []string{"05/06/2024", "2024-06-05"}[min(i, 1)]
	})},
	{"tabular_classification", "date-other-shape", "DATE year first, then month first", false, datedWith(func(i int) string {
		return []string{"2024-06-05", "12/31/2024"}[min(i, 1)]
	})},
	{"tabular_classification", "date-other-shape", "DATE month first with / then -", false, datedWith(func(i int) string {
		return []string{"05/06/2024", "05-07-2024"}[min(i, 1)]
	})},
	{"tabular_classification", "date-other-shape", "DATE written 02/30/2024", false, datedWith(func(i int) string {
		return []string{"01/30/2024", "02/30/2024"}[min(i, 1)]
	})},
	{"tabular_classification", "trailing-comma", "a trailing comma on every line", true, nil},
	{"text_classification", "unused-subfolder", "an unused subfolder in texts/", true, nil},
	// the ingestor's own samples
	{"tabular_classification", "name-id", "an id column", true, func(s *sample) {
		s.tab.header = append([]string{"id"}, s.tab.header...)
		for i := range s.tab.rows {
			s.tab.rows[i] = append([]string{fmt.Sprint(i + 1)}, s.tab.rows[i]...)
		}
	}},
	{"object_detection", "voc-difficult-2", "<difficult>2</difficult>", true, nil},
	{"image_classification", "escaped-comma", `img,Rome\, IT`, true, func(s *sample) {
		s.tab.rows[0][1] = "Rome, IT"
		s.raw = append(s.raw, rawReplace(`"Rome, IT"`, `Rome\, IT`))
	}},
	{"text_classification", "escaped-comma", `doc,Rome\, IT`, true, func(s *sample) {
		s.tab.rows[0][1] = "Rome, IT"
		s.raw = append(s.raw, rawReplace(`"Rome, IT"`, `Rome\, IT`))
	}},
}

var monthAbbrev = []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

var monthName = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}

// dated adds a DATE column "day" written in layout, one %02d for the month
// and one for the day, in that order, or day first when dayFirst (then the
// first row's day is 25, past any month).
func dated(layout string, dayFirst bool) func(s *sample) {
	return datedWith(func(i int) string {
		m, d := 1+i%12, 1+i%28
		if dayFirst {
			if i == 0 {
				d = 25
			}
			return fmt.Sprintf(layout, d, m)
		}
		return fmt.Sprintf(layout, m, d)
	})
}

// datedWith adds a DATE column "day" whose row i holds v(i).
func datedWith(v func(i int) string) func(s *sample) {
	return func(s *sample) {
		addColumn(s, "day", v)
		s.schema = declaredSchema(s, map[string]string{"day": "DATE"})
	}
}

// upperTwin adds a column LABEL beside label (MySQL compares column names
// without case).
func upperTwin(s *sample) {
	addColumn(s, "LABEL", func(i int) string { return "x" })
}

// bareDigits names every text file 0001, 0002, … and its row without the
// extension: pandas reads the column as numbers.
func bareDigits(s *sample) {
	renameFiles(s, func(i int) string { return fmt.Sprintf("%04d", i+1) })
	s.tab.set("filename", nil, func(_ int, old string) string { return strings.TrimSuffix(old, ".txt") })
}

// regressionSamples are the cases as datasets, named
// task/mutation/issue22: what.
func regressionSamples() []*sample {
	var out []*sample
	for i, r := range regressions {
		rng := rand.New(rand.NewPCG(22, uint64(i)))
		s := base(r.task, rng)
		if r.edit != nil {
			r.edit(s)
		} else {
			for _, m := range mutations {
				if m.name == r.mutation {
					m.apply(s, rng)
				}
			}
		}
		s.name = fmt.Sprintf("%s/%s/issue22: %s", r.task, r.mutation, r.what)
		out = append(out, s)
	}
	return out
}

// regressionOf is the case a sample is, nil for a generated one.
func regressionOf(s *sample) *regression {
	_, what, ok := strings.Cut(s.name, "/issue22: ")
	if !ok {
		return nil
	}
	for i := range regressions {
		r := &regressions[i]
		if r.what == what && strings.HasPrefix(s.name, r.task+"/"+r.mutation+"/") {
			return r
		}
	}
	return nil
}
