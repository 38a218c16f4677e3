package spec

import (
	"encoding/json"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/internal/contracttest"
	"github.com/tracebloc/kubectl-tracebloc/pkg/category"
	"github.com/tracebloc/kubectl-tracebloc/schema"
)

// contractCase is one spec the plugin can emit, named for the failure message.
type contractCase struct {
	name string
	spec Spec
}

// flagCombinations builds a spec for every task (and a few names that are no
// task) under every combination of the flags that shape a spec.
func flagCombinations() []contractCase {
	names := append(category.Names(), "audio_classification", "", "Image_Classification")
	var out []contractCase
	for _, name := range names {
		task, _ := category.Lookup(name)
		for _, label := range []string{"label", ""} {
			for _, intent := range []string{"train", "test", "validation"} {
				for _, ts := range [][]int{nil, {224, 224}} {
					for _, ms := range [][]int{nil, {32, 32}} {
						for _, kp := range []int{0, 17} {
							for _, policy := range []string{"", "passthrough"} {
								for _, sch := range []map[string]string{nil, {"age": "INT"}, {"sequence_id": "VARCHAR(64)", "timestamp": "TIMESTAMP"}} {
									for _, withFiles := range []bool{false, true} {
										in := Inputs{Table: "cats", Category: name, Intent: intent, LabelColumn: label, LabelPolicy: policy,
											TargetSize: ts, MinSize: ms, NumberOfKeypoints: kp, Schema: sch}
										s := Build(task, in)
										if withFiles {
											s = s.WithImages(task, ".jpg", 64, 48)
										}
										out = append(out, contractCase{name: name, spec: s})
									}
								}
							}
						}
					}
				}
			}
		}
	}
	return out
}

// canonical is a spec of task that passes the published schema: every flag
// the task requires is given.
func canonical(task category.Task) Spec {
	in := Inputs{Table: "cats", Category: task.Name, Intent: "train", LabelColumn: "label"}
	if task.AppliesFlag("number-of-keypoints") {
		in.NumberOfKeypoints = 17
	}
	if task.Spec.RequiresSchema {
		in.Schema = map[string]string{"sequence_id": "VARCHAR(64)", "timestamp": "TIMESTAMP", "age": "INT"}
	}
	s := Build(task, in)
	if task.Family == category.FamilyImage {
		s = s.WithImages(task, ".png", 64, 48)
	}
	return s
}

// invalidVariants are mistakes a flag, a dataset or a future change could
// put into a spec, applied to every task's canonical spec.
var invalidVariants = []struct {
	name   string
	mutate func(*Spec)
}{
	{"empty table", func(s *Spec) { s.Table = "" }},
	{"bad intent", func(s *Spec) { s.Intent = "eval" }},
	{"upper-case category", func(s *Spec) { s.Category = "OBJECT_DETECTION" }},
	{"no csv", func(s *Spec) { s.CSV = "" }},
	{"no images", func(s *Spec) { s.Images = "" }},
	{"no annotations", func(s *Spec) { s.Annotations = "" }},
	{"no masks", func(s *Spec) { s.Masks = "" }},
	{"no texts", func(s *Spec) { s.Texts = "" }},
	{"no sequences", func(s *Spec) { s.Sequences = "" }},
	{"stray annotations", func(s *Spec) { s.Annotations = "/x/annotations/" }},
	{"empty label column", func(s *Spec) { s.Label = &Label{Column: ""} }},
	{"label removed", func(s *Spec) { s.Label = nil }},
	{"label added", func(s *Spec) { s.Label = &Label{Column: "label"} }},
	{"label object without column", func(s *Spec) { s.Label = &Label{Column: "", Policy: "bucket"} }},
	{"unknown label policy", func(s *Spec) { s.Label = &Label{Column: "y", Policy: "median"} }},
	{"label as string on regression", func(s *Spec) {
		if s.Label != nil {
			s.Label = &Label{Column: s.Label.Column}
		}
	}},
	{"empty schema", func(s *Spec) { s.Schema = map[string]string{} }},
	{"schema without sequence columns", func(s *Spec) { s.Schema = map[string]string{"age": "INT"} }},
	{"schema removed", func(s *Spec) { s.Schema = nil }},
	{"zero target size", func(s *Spec) { s.TargetSize = []int{0, 10} }},
	{"three-item target size", func(s *Spec) { s.TargetSize = []int{1, 2, 3} }},
	{"target size removed", func(s *Spec) { s.TargetSize = nil }},
	{"negative keypoints", func(s *Spec) { s.NumberOfKeypoints = -1 }},
	{"keypoints removed", func(s *Spec) { s.NumberOfKeypoints = 0 }},
	{"empty time column", func(s *Spec) { s.TimeColumn = "" }},
	{"webp", func(s *Spec) { s.fileOptions().Extension = ".webp" }},
	{"upper-case extension", func(s *Spec) { s.fileOptions().Extension = ".JPG" }},
	{"xml extension", func(s *Spec) { s.fileOptions().Extension = ".xml" }},
	{"zero file target size", func(s *Spec) { s.fileOptions().TargetSize = []int{0, 224} }},
	{"one-item file target size", func(s *Spec) { s.fileOptions().TargetSize = []int{224} }},
	{"zero min size", func(s *Spec) { s.fileOptions().MinSize = []int{32, 0} }},
	{"three-item min size", func(s *Spec) { s.fileOptions().MinSize = []int{32, 32, 3} }},
	{"data_id uuid", func(s *Spec) { s.DataID = &DataID{Strategy: DataIDUUID} }},
	{"data_id content_hash", func(s *Spec) { s.DataID = &DataID{Strategy: DataIDContentHash} }},
	{"data_id column", func(s *Spec) { s.DataID = &DataID{Strategy: DataIDColumn, Column: "id"} }},
	{"data_id column without its name", func(s *Spec) { s.DataID = &DataID{Strategy: DataIDColumn} }},
	{"data_id uuid with a column", func(s *Spec) { s.DataID = &DataID{Strategy: DataIDUUID, Column: "id"} }},
	{"data_id unknown strategy", func(s *Spec) { s.DataID = &DataID{Strategy: "hash"} }},
	{"data_id without strategy", func(s *Spec) { s.DataID = &DataID{Column: "id"} }},
}

// TestContractSameVerdict: our schema and the published one accept and
// reject the same specs, for every task, flag combination and mistake.
func TestContractSameVerdict(t *testing.T) {
	published, err := compile(contracttest.Read(t, "ingest.v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	ourSchema, err := compile(schema.IngestV1)
	if err != nil {
		t.Fatal(err)
	}
	cases := flagCombinations()
	for _, task := range category.All() {
		for _, v := range invalidVariants {
			s := canonical(task).clone()
			if s.Label != nil {
				l := *s.Label
				s.Label = &l
			}
			v.mutate(&s)
			cases = append(cases, contractCase{name: task.Name + "/" + v.name, spec: s})
		}
	}
	acceptedPerTask := map[string]int{}
	var accepted, rejected int
	for _, c := range cases {
		doc, err := json.Marshal(c.spec)
		if err != nil {
			t.Fatal(err)
		}
		ours, err := Violations(ourSchema, doc)
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := Violations(published, doc)
		if err != nil {
			t.Fatal(err)
		}
		if (len(ours) == 0) != (len(theirs) == 0) {
			t.Errorf("%s: verdicts differ for %s\n ours: %v\n published: %v", c.name, doc, ours, theirs)
		}
		if len(theirs) == 0 {
			accepted++
			acceptedPerTask[c.spec.Category]++
		} else {
			rejected++
		}
	}
	for _, task := range category.All() {
		doc, _ := json.Marshal(canonical(task))
		if v, _ := Violations(published, doc); len(v) > 0 {
			t.Errorf("%s: the canonical spec is refused by the published schema: %v\n%s", task.Name, v, doc)
		}
		if acceptedPerTask[task.Name] == 0 {
			t.Errorf("%s: no flag combination gives a spec the published schema accepts", task.Name)
		}
	}
	if accepted == 0 || rejected == 0 {
		t.Fatalf("the table must hold both valid and invalid specs: %d accepted, %d rejected", accepted, rejected)
	}
	t.Logf("%d specs accepted and %d rejected by both schemas", accepted, rejected)
}
