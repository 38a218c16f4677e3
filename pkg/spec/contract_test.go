package spec

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/schema"
)

// publishedSchema is the ingestor's own schema, laid beside the repository for
// contract tests only; it is never copied into the project.
var publishedSchema = filepath.Join("..", "..", "..", "shared", "contracts", "ingest.v1.json")

// TestContractSameVerdict builds specs for many flag combinations and checks
// that our schema and the published one accept and reject the same ones.
func TestContractSameVerdict(t *testing.T) {
	publishedDoc, err := os.ReadFile(publishedSchema)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("published schema %s is absent: contract not checked", publishedSchema)
	}
	if err != nil {
		t.Fatal(err)
	}
	published, err := Compile(publishedDoc)
	if err != nil {
		t.Fatal(err)
	}
	ourSchema, err := Compile(schema.IngestV1)
	if err != nil {
		t.Fatal(err)
	}
	categories := []string{
		"image_classification", "object_detection", "keypoint_detection", "semantic_segmentation",
		"text_classification", "token_classification", "sentence_pair_classification",
		"tabular_classification", "tabular_regression", "time_series_forecasting",
		"time_series_classification", "time_to_event_prediction", "masked_language_modeling",
		"causal_language_modeling", "seq2seq", "embeddings", "audio_classification", "",
		"Image_Classification",
	}
	intents := []string{"train", "test", "", "validation", "TRAIN"}
	labels := []string{"label", "", "class name"}
	type imageOpts struct {
		ext  string
		w, h int
		set  bool
	}
	images := []imageOpts{{}, {ext: ".jpg", w: 224, h: 224, set: true}, {ext: ".png", w: 1, h: 1, set: true},
		{ext: ".webp", w: 10, h: 10, set: true}, {ext: ".jpg", w: 0, h: 10, set: true}, {ext: ".JPG", w: 5, h: 5, set: true}}
	tables := []string{"cats", "x"}

	var accepted, rejected int
	for _, c := range categories {
		for _, in := range intents {
			for _, l := range labels {
				for _, img := range images {
					for _, tb := range tables {
						s := Build(Inputs{Table: tb, Category: c, Intent: in, LabelColumn: l})
						if img.set {
							s = s.WithImages(img.ext, img.w, img.h)
						}
						doc, err := json.Marshal(s)
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
							t.Errorf("verdicts differ for %s\n ours: %v\n published: %v", doc, ours, theirs)
						}
						if len(ours) == 0 {
							accepted++
						} else {
							rejected++
						}
					}
				}
			}
		}
	}
	if accepted == 0 || rejected == 0 {
		t.Fatalf("the table must hold both valid and invalid specs: %d accepted, %d rejected", accepted, rejected)
	}
	t.Logf("%d specs accepted and %d rejected by both schemas", accepted, rejected)
}
