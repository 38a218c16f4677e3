package dataset

import (
	"slices"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/spec"
)

// forecastTask is the task whose timestamp column the ingestor's
// TimeFormatValidator and TimeBeforeTodayValidator hold to their rules.
const forecastTask = "time_series_forecasting"

// forecastSchema holds time_series_forecasting's timestamp column to the
// type the ingestor requires, TIMESTAMP: an inferred DATE or DATETIME
// becomes TIMESTAMP (the same times, the type the ingestor takes); a
// declared other type, or numbers, are refused (the ingestor's
// TimeFormatValidator: "timestamp column must be TIMESTAMP type").
func forecastSchema(o *TabularOptions, inferred bool, name string, probs *problemList) {
	if o.Task != forecastTask || o.OrderColumn == "" {
		return
	}
	i := slices.IndexFunc(o.Schema, func(c spec.Column) bool { return c.Name == o.OrderColumn })
	if i < 0 || o.Schema[i].Type.SQL == "TIMESTAMP" {
		return
	}
	kind := o.Schema[i].Type.Kind
	if inferred && (kind == spec.KindDateTime || kind == spec.KindDate) {
		ts, err := spec.ParseType("TIMESTAMP")
		if err == nil {
			o.Schema = slices.Clone(o.Schema)
			o.Schema[i].Type = ts
			return
		}
	}
	if inferred {
		probs.add("%s: %q holds %s values, but the ingestor reads a forecast's %s as times (TIMESTAMP): write times such as 2024-01-05 10:00:00", name, o.OrderColumn, o.Schema[i].Type.SQL, o.OrderColumn)
		return
	}
	probs.add("--schema declares %s:%s, but the ingestor requires %s:TIMESTAMP for %s (its TimeFormatValidator): declare it as TIMESTAMP", o.OrderColumn, o.Schema[i].Type.SQL, o.OrderColumn, forecastTask)
}

// forecastLimit is the first time a forecast's row may not hold: the
// ingestor's TimeBeforeTodayValidator takes only days before today (its
// local day; a time without a zone is compared as written).
func forecastLimit(now time.Time) stamp {
	y, m, d := now.Date()
	return stamp{sec: time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() - 1, nsec: 999_999_999}
}
