package category

import (
	"slices"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tracebloc/kubectl-tracebloc/internal/contracttest"
)

// TestMatchesPublishedLayout: our description of every task says what the
// ingestor's published layout contract says, key for key (manifest,
// ordering, grouping, sidecars, ...), at the same version, and no task is
// missing.
func TestMatchesPublishedLayout(t *testing.T) {
	layout, err := parseLayout(contracttest.Read(t, "layout.v1.json"))
	if err != nil {
		t.Fatalf("the published layout contract: %v", err)
	}
	if layout.Version != LayoutVersion() {
		t.Errorf("published layout version %q, ours %q", layout.Version, LayoutVersion())
	}
	var theirs []string
	for name := range layout.Tasks {
		theirs = append(theirs, name)
	}
	sort.Strings(theirs)
	sorted := slices.Sorted(slices.Values(Names()))
	if diff := cmp.Diff(theirs, sorted); diff != "" {
		t.Fatalf("task names (-published +ours):\n%s", diff)
	}
	for _, task := range All() {
		t.Run(task.Name, func(t *testing.T) {
			if diff := cmp.Diff(layout.Tasks[task.Name], asLayout(task)); diff != "" {
				t.Errorf("description differs from the published layout (-published +ours):\n%s", diff)
			}
		})
	}
}

// asLayout is our description of task in the contract's terms.
func asLayout(task Task) LayoutTask {
	got := LayoutTask{Family: task.Family, Grouping: task.Grouping, Ordering: task.Ordering, RecordFormat: task.RecordFormat,
		Manifest: LayoutManifest{Kind: task.Manifest.Kind, HasLabelColumn: task.Manifest.HasLabel(), RequiresFilenameColumn: task.Manifest.FilenameColumn != ""}}
	if task.Primary != nil {
		got.PrimarySubdir = &task.Primary.Subdir
	}
	for _, s := range task.Sidecars {
		got.Sidecars = append(got.Sidecars, LayoutSidecar{Subdir: s.Subdir, Glob: s.Glob, LinkColumn: s.LinkColumn, Required: s.Required})
	}
	return got
}

func TestDescriptionsAreComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, task := range All() {
		if seen[task.Name] {
			t.Errorf("%s is described twice", task.Name)
		}
		seen[task.Name] = true
		if task.Description == "" || len(task.Checks) == 0 {
			t.Errorf("%s: needs a description and at least one content check", task.Name)
		}
		for _, f := range task.RequiredFlags {
			if !task.AppliesFlag(f) {
				t.Errorf("%s requires --%s but does not list it among its flags", task.Name, f)
			}
		}
		if task.Manifest.Label == LabelObject && task.Spec.LabelPolicy == "" {
			t.Errorf("%s: the object label form needs a default policy", task.Name)
		}
		if task.Manifest.HasLabel() != task.AppliesFlag("label-column") {
			t.Errorf("%s: --label-column applies exactly when the task has a label", task.Name)
		}
		if task.Family == FamilyImage && len(task.Spec.TargetSize) == 0 {
			t.Errorf("%s: an image task must say where --target-size goes", task.Name)
		}
	}
	if len(seen) != 16 {
		t.Errorf("%d tasks described, want the ingestor's 16", len(seen))
	}
}

func TestSidecarNames(t *testing.T) {
	tests := []struct {
		pattern, stem, name string
		back                bool
	}{
		{"{stem}.xml", "cat1", "cat1.xml", true},
		{"{stem}_mask.png", "person_001", "person_001_mask.png", true},
		{"{stem}_mask.png", "a.b", "a.b_mask.png", true},
	}
	for _, tt := range tests {
		s := Sidecar{Name: tt.pattern}
		if got := s.For(tt.stem); got != tt.name {
			t.Errorf("For(%q) = %q, want %q", tt.stem, got, tt.name)
		}
		if stem, ok := s.Stem(tt.name); !ok || stem != tt.stem {
			t.Errorf("Stem(%q) = %q, %v; want %q", tt.name, stem, ok, tt.stem)
		}
	}
	for _, bad := range []string{"_mask.png", "x.png", "x_mask.PNG"} {
		if stem, ok := (Sidecar{Name: "{stem}_mask.png"}).Stem(bad); ok {
			t.Errorf("Stem(%q) = %q, want no match", bad, stem)
		}
	}
}

func TestFlags(t *testing.T) {
	if diff := cmp.Diff([]string{"image_classification", "object_detection", "keypoint_detection", "semantic_segmentation"}, TasksWithFlag("min-size")); diff != "" {
		t.Errorf("--min-size tasks (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"keypoint_detection"}, TasksWithFlag("number-of-keypoints")); diff != "" {
		t.Errorf("--number-of-keypoints tasks (-want +got):\n%s", diff)
	}
	if !slices.Contains(Flags(), "target-size") || slices.Contains(Flags(), "table") {
		t.Errorf("Flags() = %v", Flags())
	}
}
