package dataset

import (
	"strings"
)

// checkColumnNames holds a tabular header to what MySQL and the ingestor
// make of its names: the table the ingestor creates holds every column and
// its own label column, and MySQL compares column names without case and
// refuses one that ends in a space. Each of these is refused by the
// ingestor when it creates the table (issue 22: the ingestor's own code).
func checkColumnNames(name string, cols []string, o TabularOptions, probs *problemList) bool {
	ok := true
	seen := map[string]string{}
	for _, c := range cols {
		if c == "" {
			continue
		}
		if t := strings.TrimSpace(c); t != c {
			probs.add("%s column %q has white space around its name: MySQL refuses a column name that ends in a space, and the ingestor strips the header before it reads a column; write the name without the spaces (%q)", name, c, t)
			ok = false
		}
		key := strings.ToLower(strings.TrimSpace(c))
		if other, dup := seen[key]; dup && other != c {
			probs.add("%s has the columns %q and %q, one name to MySQL (it compares column names without case and surrounding spaces): rename one of them", name, other, c)
			ok = false
		}
		seen[key] = c
		if key == "label" && o.LabelColumn != "" && strings.ToLower(strings.TrimSpace(o.LabelColumn)) != "label" {
			probs.add("%s has a column %q beside the label column %q: the ingestor stores the label in a column of its own named label, so the table would have it twice; rename %q", name, c, o.LabelColumn, c)
			ok = false
		}
	}
	return ok
}
