package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// Label policies of the object label form, and the default time column.
const (
	PolicyPassthrough = "passthrough"
	PolicyBucket      = "bucket"
	// DefaultTimeColumn is the column time_to_event_prediction reads when
	// --time-column is not given (the ingestor's own fallback).
	DefaultTimeColumn = "time"
)

// ValidatePolicy checks a --label-policy value; it exits 2.
func ValidatePolicy(p string) error {
	if p == PolicyPassthrough || p == PolicyBucket {
		return nil
	}
	return exitcode.Errorf(exitcode.BadFlags, "--label-policy %q is not allowed: use bucket (the default: values are binned before they leave the cluster) or passthrough (raw values are sent)", p)
}

// Map is s as the spec's column → type map.
func (s Schema) Map() map[string]string {
	m := make(map[string]string, len(s))
	for _, c := range s {
		m[c.Name] = c.Type.SQL
	}
	return m
}

// ValueKind is what a column's values must look like for its SQL type.
type ValueKind int

// The kinds of column values.
const (
	KindText ValueKind = iota
	KindInt
	KindFloat
	KindBool
	KindDate
	KindDateTime
	KindTime
)

// String names the kind in words a user reads in a problem.
func (k ValueKind) String() string {
	switch k {
	case KindInt:
		return "a whole number"
	case KindFloat:
		return "a number"
	case KindBool:
		return "true or false"
	case KindDate:
		return "a date (YYYY-MM-DD)"
	case KindDateTime:
		return "a date and time (YYYY-MM-DD HH:MM:SS)"
	case KindTime:
		return "a time of day (HH:MM:SS)"
	default:
		return "text"
	}
}

// Numeric reports whether values of the kind are numbers.
func (k ValueKind) Numeric() bool { return k == KindInt || k == KindFloat }

// ColumnType is one parsed SQL type of the tabular schema.
type ColumnType struct {
	// SQL is the type as written in the spec, upper-case: "VARCHAR(64)", "INT".
	SQL  string
	Kind ValueKind
	// MaxChars bounds a text value's length in characters; 0 means no bound.
	MaxChars int
	// Min and Max bound a whole number (KindInt only).
	Min, Max int64
}

// Column is one declared or inferred column.
type Column struct {
	Name string
	Type ColumnType
}

// Schema is the tabular schema in column order: the order the user wrote it,
// or the CSV's order when inferred.
type Schema []Column

// ReservedColumns are the columns the ingestor adds to every table itself; a
// dataset cannot declare or carry them.
var ReservedColumns = []string{"id", "created_at", "updated_at", "status", "data_intent", "data_id", "filename", "extension", "annotation", "ingestor_id"}

// IsReserved reports whether name is one of ReservedColumns.
func IsReserved(name string) bool {
	for _, r := range ReservedColumns {
		if strings.EqualFold(name, r) {
			return true
		}
	}
	return false
}

// intRange are the bounds of MySQL's signed integer types.
var intRange = map[string][2]int64{
	"INT":     {-1 << 31, 1<<31 - 1},
	"INTEGER": {-1 << 31, 1<<31 - 1},
	"BIGINT":  {-1 << 63, 1<<63 - 1},
}

// TypeNames lists the accepted type names, for the message of a bad one.
const TypeNames = "VARCHAR(n), CHAR, CHAR(n), TEXT, INT, INTEGER, BIGINT, FLOAT, DOUBLE, DECIMAL, DECIMAL(p,s), NUMERIC, BOOL, BOOLEAN, DATE, DATETIME, TIMESTAMP, TIME"

// ParseType parses one SQL type, case-insensitively.
func ParseType(s string) (ColumnType, error) {
	t := strings.ToUpper(strings.Join(strings.Fields(s), ""))
	base, args, hasArgs, err := splitArgs(t)
	if err != nil {
		return ColumnType{}, err
	}
	nargs := len(args)
	switch base {
	case "VARCHAR":
		if nargs != 1 || args[0] < 1 || args[0] > 65535 {
			return ColumnType{}, fmt.Errorf("type %q needs a length from 1 to 65535, e.g. VARCHAR(255)", s)
		}
		return ColumnType{SQL: t, Kind: KindText, MaxChars: args[0]}, nil
	case "CHAR":
		switch {
		case !hasArgs:
			return ColumnType{SQL: t, Kind: KindText, MaxChars: 1}, nil
		case nargs == 1 && args[0] >= 1 && args[0] <= 255:
			return ColumnType{SQL: t, Kind: KindText, MaxChars: args[0]}, nil
		}
		return ColumnType{}, fmt.Errorf("type %q needs a length from 1 to 255, e.g. CHAR(8)", s)
	case "TEXT":
		if hasArgs {
			return ColumnType{}, fmt.Errorf("type %q takes no length: write TEXT", s)
		}
		return ColumnType{SQL: t, Kind: KindText, MaxChars: 65535}, nil
	case "DECIMAL", "NUMERIC":
		if nargs > 2 || nargs >= 1 && (args[0] < 1 || args[0] > 65) || nargs == 2 && (args[1] < 0 || args[1] > args[0] || args[1] > 30) {
			return ColumnType{}, fmt.Errorf("type %q: precision is 1 to 65 and scale 0 to 30 and at most the precision, e.g. DECIMAL(10,2)", s)
		}
		if hasArgs && nargs == 0 {
			return ColumnType{}, fmt.Errorf("type %q: give a precision, e.g. DECIMAL(10,2), or none", s)
		}
		return ColumnType{SQL: t, Kind: KindFloat}, nil
	}
	if hasArgs {
		return ColumnType{}, fmt.Errorf("type %q takes no arguments: write %s", s, base)
	}
	switch base {
	case "TINYINT", "SMALLINT", "MEDIUMINT":
		// MySQL has them, but the ingestor's DataValidator has no rule for
		// them and refuses the run ("Unknown data type").
		return ColumnType{}, fmt.Errorf("type %q: the ingestor refuses %s (its validator knows no such type): declare INT", s, base)
	}
	if r, ok := intRange[base]; ok {
		return ColumnType{SQL: t, Kind: KindInt, Min: r[0], Max: r[1]}, nil
	}
	switch base {
	case "FLOAT", "DOUBLE":
		return ColumnType{SQL: t, Kind: KindFloat}, nil
	case "BOOL", "BOOLEAN":
		return ColumnType{SQL: t, Kind: KindBool}, nil
	case "DATE":
		return ColumnType{SQL: t, Kind: KindDate}, nil
	case "DATETIME", "TIMESTAMP":
		return ColumnType{SQL: t, Kind: KindDateTime}, nil
	case "TIME":
		return ColumnType{SQL: t, Kind: KindTime}, nil
	}
	return ColumnType{}, fmt.Errorf("unknown type %q: use one of %s", s, TypeNames)
}

// splitArgs splits "NAME(a,b)" into NAME and its integer arguments.
func splitArgs(t string) (base string, args []int, hasArgs bool, err error) {
	open := strings.IndexByte(t, '(')
	if open < 0 {
		if strings.ContainsAny(t, ")") {
			return "", nil, false, fmt.Errorf("type %q has an unmatched )", t)
		}
		return t, nil, false, nil
	}
	if !strings.HasSuffix(t, ")") || strings.Count(t, "(") != 1 || strings.Count(t, ")") != 1 {
		return "", nil, false, fmt.Errorf("type %q: write arguments as NAME(n) or NAME(p,s)", t)
	}
	inner := t[open+1 : len(t)-1]
	if inner != "" {
		for _, a := range strings.Split(inner, ",") {
			n, err := strconv.Atoi(a)
			if err != nil {
				return "", nil, false, fmt.Errorf("type %q: %q is not a whole number", t, a)
			}
			args = append(args, n)
		}
	}
	return t[:open], args, true, nil
}

// ParseSchema parses the --schema flag: "col:TYPE,col:TYPE,…". A comma inside
// parentheses belongs to the type (DECIMAL(10,2)). Every problem is reported
// at once and exits 2.
func ParseSchema(arg string) (Schema, error) { return ParseSchemaFor(arg, "", "") }

// ParseSchemaFor is ParseSchema knowing the label column and the column
// data_id comes from (--data-id column:<name>, else ""). The ingestor keeps
// both out of the table it creates: neither is held to the column-name
// rules of a table column, and the id column may carry a reserved name
// such as id.
func ParseSchemaFor(arg, labelColumn, idColumn string) (Schema, error) {
	var s Schema
	var probs []string
	seen := map[string]bool{}
	for _, item := range splitTopLevel(arg) {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		colon := strings.LastIndexByte(item, ':')
		if colon < 0 {
			probs = append(probs, fmt.Sprintf("%q has no type: write column:TYPE, e.g. age:INT", item))
			continue
		}
		name, typ := strings.TrimSpace(item[:colon]), item[colon+1:]
		switch {
		case name == "":
			probs = append(probs, fmt.Sprintf("%q has no column name: write column:TYPE, e.g. age:INT", item))
			continue
		case name != idColumn && IsReserved(name):
			probs = append(probs, fmt.Sprintf("column %q is reserved by the ingestor (it adds %s to every table itself): rename that column in the CSV and in --schema, or, to make it each record's identifier, push with --data-id column:%s", name, strings.Join(ReservedColumns, ", "), name))
			continue
		case name != idColumn && name != labelColumn && CheckColumnName(name) != nil:
			probs = append(probs, CheckColumnName(name).Error()+" (in the CSV and in --schema)")
			continue
		case seen[name]:
			probs = append(probs, fmt.Sprintf("column %q is declared twice: declare each column once", name))
			continue
		}
		seen[name] = true
		ct, err := ParseType(typ)
		if err != nil {
			probs = append(probs, fmt.Sprintf("column %q: %v", name, err))
			continue
		}
		s = append(s, Column{Name: name, Type: ct})
	}
	if len(probs) == 0 && len(s) == 0 {
		probs = append(probs, "it declares no column: write column:TYPE pairs, e.g. --schema='age:INT,city:VARCHAR(64)', or leave it out to infer the types from the CSV")
	}
	if len(probs) > 0 {
		return nil, exitcode.Errorf(exitcode.BadFlags, "--schema is not valid:\n  %s", strings.Join(probs, "\n  "))
	}
	return s, nil
}

func splitTopLevel(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// Lookup returns the column named name.
func (s Schema) Lookup(name string) (Column, bool) {
	for _, c := range s {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// Arg renders s as the value of --schema, in column order.
func (s Schema) Arg() string {
	parts := make([]string, len(s))
	for i, c := range s {
		parts[i] = c.Name + ":" + c.Type.SQL
	}
	return strings.Join(parts, ",")
}

// Flag renders s as a whole --schema argument a user can copy into a shell
// and edit: single-quoted, since types hold parentheses.
func (s Schema) Flag() string {
	return "--schema='" + strings.ReplaceAll(s.Arg(), "'", `'\''`) + "'"
}

// MarshalJSON writes s as the spec's column → type object, in column order.
func (s Schema) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, c := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(c.Name)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(c.Type.SQL)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
