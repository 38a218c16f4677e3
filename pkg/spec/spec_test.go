package spec

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tracebloc/kubectl-tracebloc/pkg/category"
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

func task(t *testing.T, name string) category.Task {
	t.Helper()
	tk, ok := category.Lookup(name)
	if !ok {
		t.Fatalf("no task %s", name)
	}
	return tk
}

func TestBuild(t *testing.T) {
	const dir = "/data/shared/.tracebloc-staging/cats/"
	tests := []struct {
		name string
		in   Inputs
		ext  string
		want Spec
	}{
		{name: "image classification", in: Inputs{Category: "image_classification", Intent: "test", LabelColumn: "species"}, ext: ".png",
			want: Spec{Images: dir + "images/", Label: &Label{Column: "species"},
				Spec: &Options{FileOptions: &FileOptions{Extension: ".png", TargetSize: []int{64, 32}}}}},
		{name: "min size goes to file_options", in: Inputs{Category: "image_classification", Intent: "test", LabelColumn: "species", MinSize: []int{8, 8}}, ext: ".png",
			want: Spec{Images: dir + "images/", Label: &Label{Column: "species"},
				Spec: &Options{FileOptions: &FileOptions{Extension: ".png", TargetSize: []int{64, 32}, MinSize: []int{8, 8}}}}},
		{name: "object detection: no csv and no label, even when a label column is given", in: Inputs{Category: "object_detection", Intent: "test", LabelColumn: "label"}, ext: ".jpg",
			want: Spec{Images: dir + "images/", Annotations: dir + "annotations/",
				Spec: &Options{FileOptions: &FileOptions{Extension: ".jpg", TargetSize: []int{64, 32}}}}},
		{name: "semantic segmentation declares mask_id", in: Inputs{Category: "semantic_segmentation", Intent: "test", LabelColumn: "label"}, ext: ".jpg",
			want: Spec{Images: dir + "images/", Masks: dir + "masks/", Label: &Label{Column: "label"}, Schema: map[string]string{"mask_id": "VARCHAR(255)"},
				Spec: &Options{FileOptions: &FileOptions{Extension: ".jpg", TargetSize: []int{64, 32}}}}},
		{name: "keypoints: top-level size and count", in: Inputs{Category: "keypoint_detection", Intent: "test", LabelColumn: "label", TargetSize: []int{64, 32}, NumberOfKeypoints: 9}, ext: ".jpg",
			want: Spec{Images: dir + "images/", Label: &Label{Column: "label"}, TargetSize: []int{64, 32}, NumberOfKeypoints: 9,
				Spec: &Options{FileOptions: &FileOptions{Extension: ".jpg", TargetSize: []int{64, 32}}}}},
		{name: "self-supervised text has no label", in: Inputs{Category: "masked_language_modeling", Intent: "test", LabelColumn: "label"},
			want: Spec{Sequences: dir + "sequences/"}},
		{name: "regression label is an object with the default policy", in: Inputs{Category: "tabular_regression", Intent: "test", LabelColumn: "price", Schema: map[string]string{"price": "FLOAT"}},
			want: Spec{Label: &Label{Column: "price", Policy: "bucket"}, Schema: map[string]string{"price": "FLOAT"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tk := task(t, tt.in.Category)
			tt.in.Table = "cats"
			got := Build(tk, tt.in)
			if tt.ext != "" {
				got = got.WithImages(tk, tt.ext, 64, 32)
			}
			want := tt.want
			want.APIVersion, want.Kind, want.Category, want.Table, want.Intent = APIVersion, Kind, tt.in.Category, "cats", "test"
			if tk.Manifest.Listed() {
				want.CSV = dir + "labels.csv"
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Build() mismatch (-want +got):\n%s", diff)
			}
			if err := Validate(got); err != nil {
				t.Errorf("the built spec fails the schema: %v", err)
			}
		})
	}
}

func TestWithImagesDoesNotChangeTheOriginal(t *testing.T) {
	tk := task(t, "image_classification")
	base := Build(tk, Inputs{Table: "cats", Category: tk.Name, Intent: "train", LabelColumn: "label", MinSize: []int{4, 4}})
	_ = base.WithImages(tk, ".jpg", 10, 10)
	if base.Spec.FileOptions.TargetSize != nil || base.Spec.FileOptions.Extension != "" {
		t.Errorf("WithImages changed its receiver: %+v", base.Spec.FileOptions)
	}
}

func TestYAML(t *testing.T) {
	tk := task(t, "image_classification")
	got := Build(tk, Inputs{Table: "cats", Category: DefaultCategory, Intent: "train", LabelColumn: "label"}).WithImages(tk, ".jpg", 224, 224).YAML()
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
	obj := Build(task(t, "tabular_regression"), Inputs{Table: "p", Category: "tabular_regression", Intent: "train", LabelColumn: "price", Schema: map[string]string{"price": "FLOAT"}}).YAML()
	if !strings.Contains(obj, "label:\n  column: price\n  policy: bucket\n") {
		t.Errorf("object label form:\n%s", obj)
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
		{name: "unknown category lists the tasks", mutate: func(in *Inputs) { in.Category = "audio" },
			wantErr: []string{"  category: category must be one of the following", `--task "audio" is not a task`, "  object_detection ", "  embeddings "}},
		{name: "object detection", mutate: func(in *Inputs) { in.Category = "object_detection" }, images: true},
		{name: "keypoints without a count", mutate: func(in *Inputs) { in.Category = "keypoint_detection" }, images: true,
			wantErr: []string{"number_of_keypoints is required"}},
		{name: "empty label column", mutate: func(in *Inputs) { in.LabelColumn = "" },
			wantErr: []string{"  label: "}},
		{name: "two violations sorted", mutate: func(in *Inputs) { in.Intent = "x"; in.LabelColumn = "" },
			wantErr: []string{"  intent: intent must be one of the following: \"train\", \"test\"\n  label"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base
			if tt.mutate != nil {
				tt.mutate(&in)
			}
			tk, _ := category.Lookup(in.Category)
			s := Build(tk, in)
			if tt.images {
				s = s.WithImages(tk, ".jpeg", 10, 20)
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
