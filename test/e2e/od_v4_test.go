//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
)

// odDataset writes an object detection dataset of n images in the v4
// layout: images/ and annotations/, no labels.csv.
func odDataset(t *testing.T, n int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "od")
	must(t, fixture.Write(dir, fixture.Options{Images: n, Width: 48, Height: 40, Task: fixture.ObjectDetection}))
	if _, err := os.Stat(filepath.Join(dir, "labels.csv")); err == nil {
		t.Fatal("the fixture wrote a labels.csv for object detection")
	}
	return dir
}

// odReport is the part of -o json the object detection tests read.
type odReport struct {
	Status        string                     `json:"status"`
	LayoutVersion string                     `json:"layout_version"`
	Records       int                        `json:"records"`
	Skipped       int                        `json:"skipped_records"`
	Files         int                        `json:"files"`
	Objects       int                        `json:"objects"`
	Classes       map[string]int             `json:"classes"`
	Notes         []string                   `json:"notes"`
	Spec          map[string]json.RawMessage `json:"spec"`
	ExitCode      int                        `json:"exit_code"`
	Run           *struct {
		State   string `json:"state"`
		Summary *struct {
			Total    int `json:"total"`
			Inserted int `json:"inserted"`
			Skipped  int `json:"skipped"`
		} `json:"summary"`
	} `json:"run"`
}

func parseOD(t *testing.T, r result) odReport {
	t.Helper()
	var rep odReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, r)
	}
	return rep
}

// TestObjectDetectionV4DryRunPushIngest: a dataset of images/ and
// annotations/ without labels.csv dry-runs, pushes and ingests, counted as
// one record per image; the spec has no csv and no label.
func TestObjectDetectionV4DryRunPushIngest(t *testing.T) {
	const table = "e2e_od_v4"
	forgetTable(t, table)
	dir := odDataset(t, 9)

	r := runPlugin(t, nil, "push", dir, "--table", table, "-n", ns, "--task", "object_detection", "--dry-run", "-o", "json")
	dry := parseOD(t, r)
	if r.code != 0 || dry.Status != "dry-run" || dry.LayoutVersion != "4" || dry.Records != 9 || dry.Files != 18 || dry.Objects != 12 || len(dry.Classes) != 2 {
		t.Fatalf("dry run: %+v\n%s", dry, r)
	}
	for _, k := range []string{"csv", "json", "label"} {
		if _, ok := dry.Spec[k]; ok {
			t.Errorf("the spec has %s: %v", k, dry.Spec)
		}
	}
	if sums := stagedSums(t, table); len(sums) != 0 {
		t.Fatalf("a dry run staged files: %v", sums)
	}

	// The push goes on to the ingestion run (not --stage-only).
	cmd := ingestCmd(nil, "push", dir, "--table", table, "-n", ns, "--task", "object_detection", "-o", "json", "--keep-staged")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r = result{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	rep := parseOD(t, r)
	if r.code != 0 || rep.Status != "ingested" || rep.Run == nil || rep.Run.Summary == nil {
		t.Fatalf("want an ingested run:\n%s", r)
	}
	if s := rep.Run.Summary; s.Total != 9 || s.Inserted != 9 || s.Skipped != 0 {
		t.Errorf("summary %+v, want 9 records (one per image), all inserted", *s)
	}
	staged := stagedSums(t, table)
	if len(staged) != 18 || staged["labels.csv"] != "" {
		t.Errorf("staged copy: %d files, labels.csv %q", len(staged), staged["labels.csv"])
	}
	ingested := ingestedSums(t, table)
	if ingested["annotations/img_00004.xml"] == "" || ingested["images/img_00004.jpg"] == "" || ingested["labels.csv"] != "" {
		t.Errorf("ingested copy: %v", ingested)
	}
	assertNoStagePodsOf(t, table)
}

// TestObjectDetectionV4LeftoverLabelsCSV: a labels.csv left from the old
// layout is noted and not staged, as the reader Pod sees the volume.
func TestObjectDetectionV4LeftoverLabelsCSV(t *testing.T) {
	const table = "e2e_od_v4_leftover"
	removeStaged(t, table)
	dir := odDataset(t, 6)
	must(t, os.WriteFile(filepath.Join(dir, "labels.csv"), []byte("filename,label\nimg_00000.jpg,car\n"), 0o644))
	r := runPlugin(t, nil, "push", dir, "--table", table, "-n", ns, "--task", "object_detection", "-o", "json")
	rep := parseOD(t, r)
	if r.code != 0 || rep.Status != "staged" || rep.Files != 12 {
		t.Fatalf("push: %+v\n%s", rep, r)
	}
	if !strings.Contains(strings.Join(rep.Notes, "\n"), "labels.csv is ignored, not staged") || !strings.Contains(r.stderr, "labels.csv is ignored, not staged") {
		t.Errorf("no note about the leftover labels.csv:\n%s", r)
	}
	staged := stagedSums(t, table)
	if _, ok := staged["labels.csv"]; ok || len(staged) != 12 {
		t.Errorf("staged: %v", staged)
	}
	removeStaged(t, table)
}

// TestObjectDetectionV4Refusals: a class name with a space exits 3 naming
// its file with nothing staged and no Pod left; --label-column exits 2.
func TestObjectDetectionV4Refusals(t *testing.T) {
	const table = "e2e_od_v4_bad"
	removeStaged(t, table)
	dir := odDataset(t, 6)
	p := filepath.Join(dir, "annotations", "img_00003.xml")
	doc := mustRead(t, p)
	must(t, os.WriteFile(p, bytes.Replace(doc, []byte("<name>car</name>"), []byte("<name>traffic light</name>"), 1), 0o644))
	if bytes.Equal(doc, mustRead(t, p)) {
		t.Fatal("the annotation holds no car to rename")
	}
	r := runPlugin(t, nil, "push", dir, "--table", table, "-n", ns, "--task", "object_detection")
	if r.code != 3 || !strings.Contains(r.stderr, "annotations/img_00003.xml") || !strings.Contains(r.stderr, "white space or ':'") {
		t.Errorf("want exit 3 naming the annotation:\n%s", r)
	}
	if sums := stagedSums(t, table); len(sums) != 0 {
		t.Errorf("a refused push staged files: %v", sums)
	}
	assertNoStagePodsOf(t, table)

	r = runPlugin(t, nil, "push", odDataset(t, 4), "--table", table, "-n", ns, "--task", "object_detection", "--label-column", "label")
	if r.code != 2 || !strings.Contains(r.stderr, "--label-column does not apply to object_detection") || !strings.Contains(r.stderr, "<object><name>") {
		t.Errorf("want exit 2 saying why:\n%s", r)
	}
	assertNoStagePodsOf(t, table)
}

// TestObjectDetectionV4ObjectlessWarned: an annotation without an object
// is warned about with the count, not refused.
func TestObjectDetectionV4ObjectlessWarned(t *testing.T) {
	dir := odDataset(t, 6)
	must(t, os.WriteFile(filepath.Join(dir, "annotations", "img_00002.xml"), fixture.VOC("img_00002.jpg", 48, 40, nil), 0o644))
	r := runPlugin(t, nil, "push", dir, "--table", "e2e_od_v4_empty", "-n", ns, "--task", "object_detection", "--dry-run", "-o", "json")
	rep := parseOD(t, r)
	if r.code != 0 || rep.Skipped != 1 || rep.Records != 6 || !strings.Contains(r.stderr, "1 annotation files hold no <object>: annotations/img_00002.xml") {
		t.Errorf("want a dry run that passes with the warning:\n%s", r)
	}
}
