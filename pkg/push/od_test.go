package push

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes/fake"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
)

// TestDryRunObjectDetectionV4: an object detection dataset without
// labels.csv passes; the report counts images as records and carries the
// layout version, the spec has no csv and no label, the summary says so.
func TestDryRunObjectDetectionV4(t *testing.T) {
	client := fake.NewClientset(chart("tb")...)
	allowAllBut(client, "")
	o, out := options(t, client, nil)
	o.Local.Path = filepath.Join(t.TempDir(), "od")
	if err := fixture.Write(o.Local.Path, fixture.Options{Images: 5, Width: 16, Height: 8, Task: fixture.ObjectDetection}); err != nil {
		t.Fatal(err)
	}
	o.Flags.Category = "object_detection"
	r, err := o.run(context.Background())
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if r.LayoutVersion != "4" || r.Records != 5 || r.Files != 10 || r.Objects == 0 || len(r.Classes) != 2 {
		t.Errorf("layout %q, records %d, files %d, boxes %d, classes %v", r.LayoutVersion, r.Records, r.Files, r.Objects, r.Classes)
	}
	if r.Spec == nil || r.Spec.CSV != "" || r.Spec.Label != nil || r.Spec.Annotations == "" {
		t.Errorf("spec %+v", r.Spec)
	}
	doc, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"layout_version":"4"`, `"records":5`} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("-o json lacks %s: %s", want, doc)
		}
	}
	for _, want := range []string{"records:     5 (one per image)", "(5 images/ + 5 annotations/)", "boxes:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the summary lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out.String(), "labels.csv") {
		t.Errorf("the summary names labels.csv:\n%s", out)
	}
}
