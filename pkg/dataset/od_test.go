package dataset

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/category"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
)

func checkOD(t *testing.T, dir string) *Dataset {
	t.Helper()
	task, _ := category.Lookup("object_detection")
	ds, err := Check(dir, Options{Task: task, Limits: DefaultLimits})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func staged(ds *Dataset) []string {
	var out []string
	for _, f := range ds.Files {
		out = append(out, f.Rel)
	}
	return out
}

func noteWith(ds *Dataset, part string) string {
	for _, n := range ds.Notes {
		if strings.Contains(n, part) {
			return n
		}
	}
	return ""
}

// TestObjectDetectionNeedsNoLabelsCSV: images/ and annotations/ are the
// whole dataset (layout v4), one record per image.
func TestObjectDetectionNeedsNoLabelsCSV(t *testing.T) {
	dir := parityDataset(t, "object_detection")
	if _, err := os.Stat(filepath.Join(dir, LabelsFile)); err == nil {
		t.Fatal("the fixture wrote a labels.csv for object detection")
	}
	ds := checkOD(t, dir)
	if ds.Rows != pN || ds.Images != pN || len(ds.Files) != 2*pN || ds.Skipped != 0 {
		t.Errorf("records %d, images %d, files %d, skipped %d; want %d, %d, %d, 0", ds.Rows, ds.Images, len(ds.Files), ds.Skipped, pN, pN, 2*pN)
	}
	if slices.Contains(staged(ds), LabelsFile) || len(ds.Notes) != 0 {
		t.Errorf("staged %v, notes %v", staged(ds), ds.Notes)
	}
}

// TestObjectDetectionLeftoverLabelsCSV: a labels.csv from the old layout
// is said to be ignored and is not staged.
func TestObjectDetectionLeftoverLabelsCSV(t *testing.T) {
	dir := parityDataset(t, "object_detection")
	writeFile(t, filepath.Join(dir, LabelsFile), "filename,label\nimg_00000.jpg,car\n")
	ds := checkOD(t, dir)
	if slices.Contains(staged(ds), LabelsFile) {
		t.Errorf("labels.csv is staged: %v", staged(ds))
	}
	if n := noteWith(ds, "labels.csv is ignored, not staged"); n == "" || !strings.Contains(n, "annotations/") {
		t.Errorf("no note about the leftover labels.csv: %v", ds.Notes)
	}
	if noteWith(ds, "not staged (only") != "" {
		t.Errorf("labels.csv is listed among other ignored files too: %v", ds.Notes)
	}
}

// TestObjectDetectionUpperCaseXML: img.XML is no record: said, not staged.
func TestObjectDetectionUpperCaseXML(t *testing.T) {
	dir := parityDataset(t, "object_detection")
	writeFile(t, filepath.Join(dir, "annotations", "img_00002.XML"), string(fixture.VOC("img_00002.jpg", pW, pH, []string{"car"})))
	ds := checkOD(t, dir)
	if slices.Contains(staged(ds), "annotations/img_00002.XML") || ds.Sidecars["annotations"] != pN {
		t.Errorf("the .XML file is staged or counted: %v, %d annotations", staged(ds), ds.Sidecars["annotations"])
	}
	if n := noteWith(ds, "annotations/img_00002.XML"); !strings.Contains(n, "no records") || !strings.Contains(n, "not staged") {
		t.Errorf("no note about the .XML file: %v", ds.Notes)
	}
}

// TestObjectDetectionObjectlessXMLIsSkipped: annotations without an object
// are records the ingestor skips: counted and warned about, not refused.
func TestObjectDetectionObjectlessXMLIsSkipped(t *testing.T) {
	dir := parityDataset(t, "object_detection")
	for _, stem := range []string{"img_00001", "img_00004"} {
		writeXML(t, dir, stem, string(fixture.VOC(stem+".jpg", pW, pH, nil)))
	}
	ds := checkOD(t, dir)
	if ds.Skipped != 2 || ds.Rows != pN {
		t.Errorf("skipped %d of %d records, want 2 of %d", ds.Skipped, ds.Rows, pN)
	}
	n := noteWith(ds, "hold no <object>")
	for _, want := range []string{"2 annotation files", "annotations/img_00001.xml, annotations/img_00004.xml", "2 skipped records"} {
		if !strings.Contains(n, want) {
			t.Errorf("the warning lacks %q: %q", want, n)
		}
	}
}

// TestObjectDetectionIngestorSample: the ingestor's own sample grades
// difficulty 0, 1 and 2 (VisDrone); the pre-flight accepts it.
func TestObjectDetectionIngestorSample(t *testing.T) {
	dir := parityDataset(t, "object_detection")
	for i, d := range []string{"0", "1", "2"} {
		stem := strings.TrimSuffix(fixtureName(i), ".jpg")
		doc := string(fixture.VOC(fixtureName(i), pW, pH, []string{"car", "pedestrian"}))
		writeXML(t, dir, stem, strings.ReplaceAll(doc, "<difficult>0</difficult>", "<difficult>"+d+"</difficult>"))
	}
	ds := checkOD(t, dir)
	if ds.Classes["pedestrian"] != 3 {
		t.Errorf("classes %v", ds.Classes)
	}
}
