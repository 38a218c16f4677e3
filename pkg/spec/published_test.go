package spec

import (
	"encoding/json"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/internal/contracttest"
	"github.com/tracebloc/kubectl-tracebloc/pkg/category"
)

// allowedInputs are the inputs the push command lets through for task:
// only the flags that apply to it, every flag it requires, both intents.
func allowedInputs(task category.Task) []Inputs {
	var out []Inputs
	sizes := [][]int{nil}
	if task.AppliesFlag("target-size") {
		sizes = append(sizes, []int{224, 224})
	}
	for _, intent := range []string{"train", "test"} {
		for _, ts := range sizes {
			for _, ms := range sizes {
				in := Inputs{Table: "cats", Category: task.Name, Intent: intent, LabelColumn: DefaultLabel, TargetSize: ts}
				if task.AppliesFlag("min-size") && ms != nil {
					in.MinSize = []int{32, 32}
				}
				if task.AppliesFlag("number-of-keypoints") {
					in.NumberOfKeypoints = 17
					if in.TargetSize == nil {
						in.TargetSize = []int{256, 256}
					}
				}
				if task.Spec.RequiresSchema {
					in.Schema = map[string]string{"sequence_id": "VARCHAR(64)", "timestamp": "DATETIME", "label": "INT"}
				}
				if task.AppliesFlag("label-policy") {
					in.LabelPolicy = "passthrough"
				}
				out = append(out, in)
			}
		}
	}
	return out
}

// TestBuiltSpecsPassThePublishedSchema: every spec the builder gives for
// what the command accepts passes the ingestor's published ingest schema,
// for every task, before and after the dataset's files fill it in.
func TestBuiltSpecsPassThePublishedSchema(t *testing.T) {
	theirs, err := compile(contracttest.Read(t, "ingest.v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range category.All() {
		n := 0
		for _, in := range allowedInputs(task) {
			s := Build(task, in)
			specs := []Spec{s}
			switch {
			case task.Family == category.FamilyImage:
				specs = append(specs, s.WithImages(task, ".png", 224, 224))
			case task.Primary != nil:
				specs = append(specs, s.WithExtension(task.Primary.Extensions[0]))
			}
			for _, sp := range specs {
				doc, err := json.Marshal(sp)
				if err != nil {
					t.Fatal(err)
				}
				v, err := Violations(theirs, doc)
				if err != nil {
					t.Fatal(err)
				}
				if len(v) > 0 {
					t.Errorf("%s: the published schema refuses the built spec: %v\n%s", task.Name, v, doc)
				}
				n++
			}
		}
		if n == 0 {
			t.Errorf("%s: no spec built", task.Name)
		}
	}
}

// TestObjectDetectionSpecHasNoCSVNorLabel: the spec of object detection
// names neither a csv, a json nor a label, even with a label column given.
func TestObjectDetectionSpecHasNoCSVNorLabel(t *testing.T) {
	od := task(t, "object_detection")
	s := Build(od, Inputs{Table: "cars", Category: od.Name, Intent: "train", LabelColumn: "species"}).WithImages(od, ".jpg", 64, 48)
	doc, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(doc, &keys); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"csv", "json", "label"} {
		if _, ok := keys[k]; ok {
			t.Errorf("the object detection spec has %q: %s", k, doc)
		}
	}
	for _, k := range []string{"images", "annotations"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("the object detection spec lacks %q: %s", k, doc)
		}
	}
	if err := Validate(s); err != nil {
		t.Errorf("our schema refuses it: %v", err)
	}
	for name, mutate := range map[string]func(*Spec){
		"csv":   func(s *Spec) { s.CSV = "/data/shared/.tracebloc-staging/cars/labels.csv" },
		"label": func(s *Spec) { s.Label = &Label{Column: "label"} },
	} {
		bad := s
		mutate(&bad)
		if err := Validate(bad); err == nil {
			t.Errorf("our schema accepts an object detection spec with a %s", name)
		}
	}
}
