package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const odSpec = `apiVersion: tracebloc.io/v1
kind: IngestConfig
category: object_detection
table: %[1]s
intent: train
images: /data/shared/.tracebloc-staging/%[1]s/images/
annotations: /data/shared/.tracebloc-staging/%[1]s/annotations/
`

// voc is a Pascal VOC file with one object per name.
func voc(names ...string) string {
	var b strings.Builder
	b.WriteString("<annotation><folder>images</folder><filename>x.jpg</filename>")
	for _, n := range names {
		fmt.Fprintf(&b, "<object><name>%s</name><difficult>2</difficult><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object>", n)
	}
	b.WriteString("</annotation>")
	return b.String()
}

// stageOD stages an object detection table: an image and an annotation per
// entry of annotations (stem → XML), and no labels.csv.
func stageOD(t *testing.T, root, table string, annotations map[string]string) string {
	t.Helper()
	dir := filepath.Join(root, ".tracebloc-staging", table)
	for _, sub := range []string{"images", "annotations"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for stem, doc := range annotations {
		if err := os.WriteFile(filepath.Join(dir, "images", stem+".jpg"), []byte("jpeg"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "annotations", stem+".xml"), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(root, "ingest.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(odSpec, table)), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestIngestObjectDetection(t *testing.T) {
	long := make([]string, 30)
	for i := range long {
		long[i] = fmt.Sprintf("class_number_%02d", i)
	}
	tests := []struct {
		name        string
		annotations map[string]string
		wantCode    int
		wantLines   []string
		notLines    []string
	}{
		{name: "one record per image, no labels.csv", annotations: map[string]string{"a": voc("car", "car", "sign"), "b": voc("sign"), "c": voc(" car ")},
			wantLines: []string{"📈 Total Records Found: 3", "💾 Inserted to Database: 3", "⏭️  Skipped Records: 0", "found 3 records (one per annotation)"}},
		{name: "an annotation without an object is skipped", annotations: map[string]string{"a": voc("car"), "b": voc("sign"), "c": voc(), "d": voc("  ")},
			wantLines: []string{"📈 Total Records Found: 4", "💾 Inserted to Database: 2", "⏭️  Skipped Records: 2", "WARNING - c.xml: no object, record skipped", "WARNING - d.xml"}},
		{name: "class name with a space", annotations: map[string]string{"a": voc("car"), "b": voc("traffic light")}, wantCode: 1,
			wantLines: []string{"ERROR - annotation b.xml: a class name holds white space or ':'"}, notLines: []string{"traffic light", "SUMMARY"}},
		{name: "class name with a colon", annotations: map[string]string{"a": voc("car"), "b": voc("car:red")}, wantCode: 1,
			wantLines: []string{"ERROR - annotation b.xml"}},
		{name: "label cell over 255 characters", annotations: map[string]string{"a": voc("car"), "b": voc(long...)}, wantCode: 1,
			wantLines: []string{"ERROR - annotation b.xml: its label cell is over 255 characters"}},
		{name: "one class", annotations: map[string]string{"a": voc("car"), "b": voc("car")}, wantCode: 1,
			wantLines: []string{"hold 1 distinct classes: object detection needs at least 2"}},
		{name: "not XML", annotations: map[string]string{"a": voc("car"), "b": "<annotation>"}, wantCode: 1,
			wantLines: []string{"ERROR - annotation b.xml is not valid Pascal VOC"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			cfg := stageOD(t, root, "cars", tt.annotations)
			var out bytes.Buffer
			code := ingest(&out, cfg, root, "job-1", func(time.Duration) {})
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d:\n%s", code, tt.wantCode, out.String())
			}
			for _, l := range tt.wantLines {
				if !strings.Contains(out.String(), l) {
					t.Errorf("output lacks %q:\n%s", l, out.String())
				}
			}
			for _, l := range tt.notLines {
				if strings.Contains(out.String(), l) {
					t.Errorf("output holds %q:\n%s", l, out.String())
				}
			}
			_, err := os.Stat(filepath.Join(root, "cars", "annotations", "a.xml"))
			if (err == nil) != (tt.wantCode == 0) {
				t.Errorf("annotation copied: %v, want %v", err == nil, tt.wantCode == 0)
			}
			if _, err := os.Stat(filepath.Join(root, "cars", "labels.csv")); err == nil {
				t.Errorf("a labels.csv was written for object detection")
			}
		})
	}
}

// An upper-case .XML is no record: the ingestor's glob is case-sensitive.
func TestIngestObjectDetectionUpperCaseXMLIsNoRecord(t *testing.T) {
	root := t.TempDir()
	cfg := stageOD(t, root, "cars", map[string]string{"a": voc("car"), "b": voc("sign")})
	if err := os.WriteFile(filepath.Join(root, ".tracebloc-staging", "cars", "annotations", "c.XML"), []byte(voc("bus")), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if code := ingest(&out, cfg, root, "job-1", func(time.Duration) {}); code != 0 || !strings.Contains(out.String(), "📈 Total Records Found: 2") {
		t.Fatalf("exit %d, want 0 with 2 records:\n%s", code, out.String())
	}
}

func TestValidateObjectDetectionSpec(t *testing.T) {
	good := fmt.Sprintf(odSpec, "cars")
	if _, err := validate(submitRequest{IngestConfig: good, IdempotencyKey: "k1"}); err != nil {
		t.Fatalf("a v4 object detection spec: %v", err)
	}
	for name, extra := range map[string]string{
		"csv":   "csv: /data/shared/.tracebloc-staging/cars/labels.csv\n",
		"label": "label: label\n",
		"json":  "json: /data/shared/x.json\n",
	} {
		_, err := validate(submitRequest{IngestConfig: good + extra, IdempotencyKey: "k1"})
		if err == nil || !strings.Contains(err.Error(), "object_detection must not set "+name) {
			t.Errorf("with %s: %v, want refused", name, err)
		}
	}
	noAnn := strings.Replace(good, "annotations: /data/shared/.tracebloc-staging/cars/annotations/\n", "", 1)
	if _, err := validate(submitRequest{IngestConfig: noAnn, IdempotencyKey: "k1"}); err == nil || !strings.Contains(err.Error(), "annotations must be a path") {
		t.Errorf("without annotations: %v, want refused", err)
	}
}
