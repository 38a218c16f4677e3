package spec

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxColumnName is the longest column name the ingestor takes: MySQL's
// identifier limit, the one rule backtick quoting cannot work around. It
// counts characters (code points), as the ingestor's Python len() does.
const MaxColumnName = 64

// CheckColumnName returns why name cannot become a column of the ingestor's
// table, or nil. The ingestor quotes every name, so any character is allowed
// except NUL; the name must not be empty nor longer than MaxColumnName.
func CheckColumnName(name string) error {
	switch n := utf8.RuneCountInString(name); {
	case name == "":
		return fmt.Errorf("a column name is empty: give every column a name")
	case strings.IndexByte(name, 0) >= 0:
		return fmt.Errorf("column name %s holds a NUL character, which no database column name may: remove it", ShowColumn(name))
	case n > MaxColumnName:
		return fmt.Errorf("column name %s is %d characters long: the ingestor's database takes at most %d characters in a column name; shorten it", ShowColumn(name), n, MaxColumnName)
	}
	return nil
}

// ShowColumn quotes a column name for a message: in full unless it is very
// long (a header can be a whole line of text), then its start and length.
func ShowColumn(name string) string {
	const shown = 100
	if utf8.RuneCountInString(name) <= shown {
		return fmt.Sprintf("%q", name)
	}
	r := []rune(name)
	return fmt.Sprintf("%q… (%d characters)", string(r[:shown]), len(r))
}
