package parity

import (
	"fmt"
	"strings"
	"testing"
)

// TestDateShapesAgainstTheOracle: declared DATE and DATETIME columns
// written otherwise than year first, in one shape or with one row in
// another, judged by the pre-flight and the ingestor. pandas guesses such a
// column's format from its first value (tabular_dates.go); 150 columns
// drawn at random must get the ingestor's verdict, with both verdicts
// present among them.
func TestDateShapesAgainstTheOracle(t *testing.T) {
	oracle := requireOracle(t)
	var m mutation
	for _, x := range mutations {
		if x.name == "date-other-shapes" {
			m = x
		}
	}
	if m.apply == nil {
		t.Fatal("no date-other-shapes mutation")
	}
	var samples []*sample
	for k := range 150 {
		task := tabularTasks[k%2] // classification and regression: no time column of their own
		rng := rngFor(corpusSeed(t), task, "dates", k)
		s := base(task, rng)
		if !m.apply(s, rng) {
			t.Fatalf("%s: the mutation did not apply", task)
		}
		s.name = fmt.Sprintf("%s/dates/%d", task, k)
		samples = append(samples, s)
	}
	var bad []string
	verdicts := map[bool]int{}
	for _, r := range judgeAll(t, oracle, samples) {
		verdicts[r.oracle.accepted]++
		if r.ours.accepted != r.oracle.accepted {
			bad = append(bad, fmt.Sprintf("%s (%s, day: %s…): the pre-flight %s, the ingestor %s\n    pre-flight: %s\n    ingestor:   %s",
				r.s.name, r.dir, strings.Join(column(r.s, "day", 3), ", "), word(r.ours.accepted), word(r.oracle.accepted), oneLine(r.ours.reason), oneLine(r.oracle.reason)))
		}
	}
	t.Logf("%d date columns: the ingestor accepts %d, refuses %d; %d verdicts differ", len(samples), verdicts[true], verdicts[false], len(bad))
	if verdicts[true] < 20 || verdicts[false] < 20 {
		t.Errorf("the draw holds %d accepted and %d refused columns: want at least 20 of each", verdicts[true], verdicts[false])
	}
	if len(bad) > 0 {
		t.Errorf("%d verdicts differ from the ingestor's:\n%s", len(bad), strings.Join(bad, "\n"))
	}
}

// column is the first n values of a column of s.
func column(s *sample, name string, n int) []string {
	c := s.tab.col(name)
	var out []string
	for i := 0; i < n && i < len(s.tab.rows); i++ {
		out = append(out, s.tab.rows[i][c])
	}
	return out
}
