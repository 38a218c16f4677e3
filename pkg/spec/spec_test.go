package spec

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

func TestValidateTable(t *testing.T) {
	tests := []struct {
		name    string
		table   string
		wantErr string
	}{
		{name: "simple", table: "cats_dogs"},
		{name: "leading underscore", table: "_x"},
		{name: "upper and digits", table: "Cats2024"},
		{name: "max length", table: strings.Repeat("a", 63)},
		{name: "empty", table: "", wantErr: "--table is required"},
		{name: "too long", table: strings.Repeat("a", 64), wantErr: "64 characters long"},
		{name: "traversal", table: "../../etc", wantErr: `table "../../etc" is not allowed`},
		{name: "slash", table: "a/b", wantErr: "not allowed"},
		{name: "leading digit", table: "1cats", wantErr: "not starting with a digit"},
		{name: "dash", table: "cats-dogs", wantErr: "not allowed"},
		{name: "space", table: "cats dogs", wantErr: "not allowed"},
		{name: "non-ascii", table: "kätzchen", wantErr: "not allowed"},
		{name: "newline", table: "a\nb", wantErr: "not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateTable(tt.table)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ValidateTable(%q) = %v, want nil", tt.table, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ValidateTable(%q) = %v, want error containing %q", tt.table, err, tt.wantErr)
			}
			if code := exitcode.Of(err); code != exitcode.BadFlags {
				t.Errorf("exit code = %d, want %d", code, exitcode.BadFlags)
			}
		})
	}
}

func TestBuild(t *testing.T) {
	got := Build(Inputs{Table: "cats", Category: DefaultCategory, Intent: "test", LabelColumn: "species"}).WithImages(".png", 64, 32)
	want := Spec{
		APIVersion: "tracebloc.io/v1",
		Kind:       "IngestConfig",
		Category:   "image_classification",
		Table:      "cats",
		Intent:     "test",
		CSV:        "/data/shared/.tracebloc-staging/cats/labels.csv",
		Images:     "/data/shared/.tracebloc-staging/cats/images/",
		Label:      "species",
		Spec:       &Options{FileOptions: &FileOptions{Extension: ".png", TargetSize: []int{64, 32}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Build() mismatch (-want +got):\n%s", diff)
	}
}

func TestYAML(t *testing.T) {
	got := Build(Inputs{Table: "cats", Category: DefaultCategory, Intent: "train", LabelColumn: "label"}).WithImages(".jpg", 224, 224).YAML()
	want := `apiVersion: tracebloc.io/v1
category: image_classification
csv: /data/shared/.tracebloc-staging/cats/labels.csv
images: /data/shared/.tracebloc-staging/cats/images/
intent: train
kind: IngestConfig
label: label
spec:
  file_options:
    extension: .jpg
    target_size:
    - 224
    - 224
table: cats
`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("YAML mismatch (-want +got):\n%s", diff)
	}
}

func TestValidate(t *testing.T) {
	base := Inputs{Table: "cats", Category: DefaultCategory, Intent: "train", LabelColumn: "label"}
	tests := []struct {
		name    string
		mutate  func(*Inputs)
		images  bool
		wantErr []string
	}{
		{name: "defaults"},
		{name: "with images", images: true},
		{name: "test intent", mutate: func(in *Inputs) { in.Intent = "test" }},
		{name: "bad intent", mutate: func(in *Inputs) { in.Intent = "eval" },
			wantErr: []string{"  intent: intent must be one of the following"}},
		{name: "unknown category", mutate: func(in *Inputs) { in.Category = "audio" },
			wantErr: []string{"  category: category must be one of the following", "drop --category=audio"}},
		{name: "known but unsupported category", mutate: func(in *Inputs) { in.Category = "object_detection" },
			wantErr: []string{"annotations is required", "push stages image_classification datasets"}},
		{name: "empty label column", mutate: func(in *Inputs) { in.LabelColumn = "" },
			wantErr: []string{"  label: String length must be greater than or equal to 1"}},
		{name: "two violations sorted", mutate: func(in *Inputs) { in.Intent = "x"; in.LabelColumn = "" },
			wantErr: []string{"  intent: intent must be one of the following: \"train\", \"test\"\n  label:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base
			if tt.mutate != nil {
				tt.mutate(&in)
			}
			s := Build(in)
			if tt.images {
				s = s.WithImages(".jpeg", 10, 20)
			}
			err := Validate(s)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate() = nil, want an error")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if code := exitcode.Of(err); code != exitcode.BadFlags {
				t.Errorf("exit code = %d, want %d", code, exitcode.BadFlags)
			}
		})
	}
}
