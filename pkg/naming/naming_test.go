package naming

import (
	"regexp"
	"strings"
	"testing"
)

var dns1123 = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

func TestSlug(t *testing.T) {
	for _, tc := range []struct{ name, table, want string }{
		{"lower and dashes", "Cats_Dogs", "cats-dogs"},
		{"trimmed", "__x__", "x"},
		{"empty falls back", "___", "table"},
		{"capped at 40 without a trailing dash", strings.Repeat("a", 39) + "_b", strings.Repeat("a", 39)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Slug(tc.table)
			if got != tc.want {
				t.Errorf("Slug(%q) = %q, want %q", tc.table, got, tc.want)
			}
			if !dns1123.MatchString(got) {
				t.Errorf("Slug(%q) = %q is not a DNS-1123 label", tc.table, got)
			}
		})
	}
}

func TestTableLabel(t *testing.T) {
	for table, want := range map[string]string{
		"_cats_":                       "cats",
		strings.Repeat("a", 70):        strings.Repeat("a", 63),
		strings.Repeat("a", 62) + "_b": strings.Repeat("a", 62),
	} {
		if got := TableLabel(table); got != want {
			t.Errorf("TableLabel(%q) = %q, want %q", table, got, want)
		}
	}
}
