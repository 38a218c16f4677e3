package spec

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/internal/contracttest"
)

// TestColumnNameVectors: the ingestor's published column-identifier cases
// get the same verdict here, and the published limit is ours.
func TestColumnNameVectors(t *testing.T) {
	var doc struct {
		Version   string `json:"version"`
		MaxLength int    `json:"max_length"`
		Cases     []struct {
			Name  string `json:"name"`
			Valid bool   `json:"valid"`
			Why   string `json:"why"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(contracttest.Read(t, "column_identifier.v1.json"), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != "1" {
		t.Fatalf("column_identifier version %q: this check follows version 1; re-read its rule and update CheckColumnName", doc.Version)
	}
	if doc.MaxLength != MaxColumnName {
		t.Errorf("published max_length %d, ours %d", doc.MaxLength, MaxColumnName)
	}
	if len(doc.Cases) == 0 {
		t.Fatal("the published file holds no cases")
	}
	for _, c := range doc.Cases {
		err := CheckColumnName(c.Name)
		if (err == nil) != c.Valid {
			t.Errorf("%q (%s): valid=%v, ours: %v", c.Name, c.Why, c.Valid, err)
		}
	}
}

func TestColumnNameOwnCases(t *testing.T) {
	long := strings.Repeat("ö", 64) // 128 bytes, 64 characters
	cases := []struct {
		name    string
		wantErr string
	}{
		{long, ""},
		{long + "x", "65 characters long"},
		{strings.Repeat("a", 64), ""},
		{"we`ird", ""},
		{"a\tb", ""},
		{" padded ", ""},
		{"名前", ""},
		{"\x00", "NUL"},
		{"", "empty"},
		{strings.Repeat("x", 500), "500 characters"},
	}
	for _, c := range cases {
		err := CheckColumnName(c.name)
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%q: %v", c.name, err)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%q: got %v, want %q", c.name, err, c.wantErr)
		}
	}
	// A 500-character name is shown by its start and length, not whole.
	if err := CheckColumnName(strings.Repeat("x", 500)); len(err.Error()) > 300 {
		t.Errorf("message of a long name is %d bytes", len(err.Error()))
	}
}

func TestParseDataID(t *testing.T) {
	cases := []struct {
		in      string
		want    *DataID
		wantErr string
	}{
		{"", nil, ""},
		{"uuid", &DataID{Strategy: "uuid"}, ""},
		{"content_hash", &DataID{Strategy: "content_hash"}, ""},
		{"column:id", &DataID{Strategy: "column", Column: "id"}, ""},
		{"column:patient id", &DataID{Strategy: "column", Column: "patient id"}, ""},
		{"column:", nil, "names no column"},
		{"column", nil, "column:<name>"},
		{"hash", nil, "--data-id column:id"},
		{"UUID", nil, "is not a strategy"},
		{"column:" + strings.Repeat("a", 65), nil, "65 characters"},
	}
	for _, c := range cases {
		got, err := ParseDataID(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%q: got %v, want an error with %q", c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if (got == nil) != (c.want == nil) || got != nil && *got != *c.want {
			t.Errorf("%q: got %+v, want %+v", c.in, got, c.want)
		}
	}
}
