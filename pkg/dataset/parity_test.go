package dataset

import (
	"encoding/csv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/category"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// Sources of the rules the parity corpus holds the pre-flight to. The
// ingestor's verdict on each case follows from the rule named.
const (
	srcFileType   = "ingestor FileTypeValidator: one extension, .jpg/.jpeg/.png"
	srcResolution = "ingestor ImageResolutionValidator: every image decodes and has target_size, none below min_size"
	srcCSV        = "ingestor CSV reading: UTF-8, unique header, filename column, rows (CATEGORIES.md Common)"
	srcLabel      = "ingestor LabelColumnValidator / LabelDiversityValidator: label column present, ≥ 2 values"
	srcRows       = "ingestor record processing: every row's file exists; a bare name gets the spec's extension (CATEGORIES.md Common)"
	srcPairing    = "ingestor FilePairingValidator: image ↔ sidecar by stem, both ways"
	srcVOC        = "ingestor PascalVOCXMLValidator: required elements, 0/1 flags, integer boxes with min < max"
	srcPreflight  = "tracebloc CLI pre-flight (CATEGORIES.md object_detection): box inside the image"
	srcDiversity  = "ingestor label diversity from the XML (UPSTREAM-V4 rule 12): ≥ 2 distinct classes"
	srcNoObject   = "ingestor VOC enumeration (UPSTREAM-V4 rule 9): an XML without an object is a skipped record, with a warning"
	srcLabelCell  = "ingestor label encoding (UPSTREAM-V4 rules 10, 11): class names without white space or ':', each image's cell ≤ 255 characters"
	srcDifficult  = "ingestor PascalVOCXMLValidator (oracle): <difficult> any non-negative integer, 2 only warned about"
	srcNoManifest = "layout contract v4 (UPSTREAM-V4 rules 5, 7): object detection has no labels.csv, a leftover one is ignored; *.xml is case-sensitive"
	srcMaskID     = "ingestor MaskIdColumnValidator: mask_id present, exact name, populated (NULL tokens count as empty)"
	srcMask       = "CATEGORIES.md semantic_segmentation: each mask decodes and has its image's size"
	srcKPAnn      = "ingestor KeypointAnnotationValidator: JSON object of [x, y] / {x, y}, numeric, ≥ 0, count = number_of_keypoints, non-degenerate, same names"
	srcKPVis      = "ingestor KeypointVisibilityValidator: JSON object, each value in (0, 1) as Python compares (1.0 and true are 1), same keys as Annotation"
	srcStrict     = "no published fact: the strictest reasonable rule (see keypoints.go)"
)

// parityCase is a dataset users get wrong (or right), and the verdict the
// ingestor's validators give it.
type parityCase struct {
	name   string
	source string
	// accepted is the ingestor's verdict.
	accepted bool
	mutate   func(t *testing.T, dir string)
	// want is a part of the pre-flight's report.
	want string
}

const (
	pW, pH = 40, 32
	pN     = 6
)

func parityDataset(t *testing.T, task string) string {
	t.Helper()
	dir := t.TempDir()
	err := fixture.Write(dir, fixture.Options{Images: pN, Width: pW, Height: pH, Task: task, Keypoints: 3})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// editCSV rewrites labels.csv through edit, which gets the header and rows.
func editCSV(t *testing.T, dir string, edit func(rows [][]string) [][]string) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "labels.csv"))
	must(t, err)
	rows, err := csv.NewReader(f).ReadAll()
	must(t, err)
	must(t, f.Close())
	rows = edit(rows)
	var b strings.Builder
	w := csv.NewWriter(&b)
	must(t, w.WriteAll(rows))
	writeFile(t, filepath.Join(dir, "labels.csv"), b.String())
}

func col(rows [][]string, name string) int {
	for i, h := range rows[0] {
		if h == name {
			return i
		}
	}
	return -1
}

func setCell(t *testing.T, dir, column string, row int, value string) {
	t.Helper()
	editCSV(t, dir, func(rows [][]string) [][]string {
		c := col(rows, column)
		if c < 0 {
			t.Fatalf("no column %s", column)
		}
		rows[row][c] = value
		return rows
	})
}

func dropColumn(t *testing.T, dir, column string) {
	t.Helper()
	editCSV(t, dir, func(rows [][]string) [][]string {
		c := col(rows, column)
		for i := range rows {
			rows[i] = append(rows[i][:c:c], rows[i][c+1:]...)
		}
		return rows
	})
}

func writeXML(t *testing.T, dir, stem, body string) {
	t.Helper()
	writeFile(t, filepath.Join(dir, "annotations", stem+".xml"), body)
}

// vocWith is a valid annotation of the fixture's image 0 with one edit.
func vocWith(from, to string) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		doc := string(fixture.VOC("img_00000.jpg", pW, pH, []string{"car"}))
		if !strings.Contains(doc, from) {
			t.Fatalf("fixture annotation lacks %q", from)
		}
		writeXML(t, dir, "img_00000", strings.Replace(doc, from, to, 1))
	}
}

// longCell writes image 4's annotation with 16 classes whose label cell is
// 255+extra characters: 16 pairs "ééééééééééé_<letter>:1" of 15 characters
// (26 bytes) joined by 15 spaces, the first class extra characters longer.
func longCell(extra int) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		var classes []string
		for i := range 16 {
			classes = append(classes, strings.Repeat("é", 11)+"_"+string(rune('a'+i)))
		}
		classes[0] += strings.Repeat("x", extra)
		writeXML(t, dir, "img_00004", string(fixture.VOC("img_00004.jpg", pW, pH, classes)))
	}
}

// commonCases hold for every image task.
func commonCases() []parityCase {
	return []parityCase{
		{"valid", "", true, func(*testing.T, string) {}, ""},
		{"image does not decode", srcResolution, false, func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "images", "img_00001.jpg"), "not a jpeg")
		}, "images do not decode: images/img_00001.jpg"},
		{"image of another size", srcResolution, false, func(t *testing.T, dir string) {
			writeImage(t, filepath.Join(dir, "images", "img_00002.jpg"), pW+8, pH)
		}, "images/img_00002.jpg (48×32)"},
		{"webp image", srcFileType, false, func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "images", "x.webp"), "RIFF")
		}, "the ingestor cannot read .webp"},
		{"mixed extensions", srcFileType, false, func(t *testing.T, dir string) {
			data, err := fixture.Image(pW, pH, ".png", false, rand.New(rand.NewPCG(1, 1)))
			must(t, err)
			must(t, os.Rename(filepath.Join(dir, "images", "img_00003.jpg"), filepath.Join(dir, "images", "img_00003.png")))
			writeFile(t, filepath.Join(dir, "images", "img_00003.png"), string(data))
		}, "images/ mixes extensions"},
		{"backslash in a file name", "stream rule (transfer.EntryName): the pre-flight refuses what the stream would", false, func(t *testing.T, dir string) {
			writeImage(t, filepath.Join(dir, "images", `a\b.jpg`), pW, pH)
		}, `"images/a\\b.jpg"`},
	}
}

// manifestCases hold for every image task with a labels.csv.
func manifestCases() []parityCase {
	return []parityCase{
		{"filename without extension", srcRows, true, func(t *testing.T, dir string) {
			editCSV(t, dir, func(rows [][]string) [][]string {
				for _, r := range rows[1:] {
					r[0] = strings.TrimSuffix(r[0], ".jpg")
				}
				return rows
			})
		}, ""},
		{"row names a missing image", srcRows, false, func(t *testing.T, dir string) {
			setCell(t, dir, "filename", 1, "ghost.jpg")
		}, "name files that are not in images/: ghost.jpg"},
		{"Filename header", srcCSV, false, func(t *testing.T, dir string) {
			editCSV(t, dir, func(rows [][]string) [][]string { rows[0][0] = "Filename"; return rows })
		}, `"Filename" is close`},
		{"labels.csv in Latin-1", srcCSV, false, func(t *testing.T, dir string) {
			setCell(t, dir, "label", 1, "caf\xe9")
		}, "is not valid UTF-8"},
		{"label column missing", srcLabel, false, func(t *testing.T, dir string) { dropColumn(t, dir, "label") },
			`no label column "label"`},
		{"header without rows", srcCSV, false, func(t *testing.T, dir string) {
			editCSV(t, dir, func(rows [][]string) [][]string { return rows[:1] })
		}, "header but no rows"},
	}
}

var parityTasks = map[string][]parityCase{
	"image_classification": {
		{"one label value", srcLabel, false, func(t *testing.T, dir string) {
			editCSV(t, dir, func(rows [][]string) [][]string {
				for _, r := range rows[1:] {
					r[1] = "cat"
				}
				return rows
			})
		}, "at least 2 label values"},
	},
	"object_detection": {
		{"annotation missing", srcPairing, false, func(t *testing.T, dir string) {
			must(t, os.Remove(filepath.Join(dir, "annotations", "img_00002.xml")))
		}, "annotations/img_00002.xml (for images/img_00002.jpg)"},
		{"annotation without image", srcPairing, false, func(t *testing.T, dir string) {
			writeXML(t, dir, "stray", string(fixture.VOC("stray.jpg", pW, pH, []string{"car"})))
		}, "pair with no file of images/: annotations/stray.xml"},
		{"annotations folder missing", srcPairing, false, func(t *testing.T, dir string) {
			must(t, os.RemoveAll(filepath.Join(dir, "annotations")))
		}, "annotations/ is missing"},
		{"upper-case .XML", srcPairing, false, func(t *testing.T, dir string) {
			must(t, os.Rename(filepath.Join(dir, "annotations", "img_00001.xml"), filepath.Join(dir, "annotations", "img_00001.XML")))
		}, "annotations/img_00001.xml (for images/img_00001.jpg) (annotations/img_00001.XML is not read"},
		{"an extra upper-case .XML", srcNoManifest, true, func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "annotations", "img_00001.XML"), string(fixture.VOC("img_00001.jpg", pW, pH, []string{"car"})))
		}, ""},
		{"leftover labels.csv", srcNoManifest, true, func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "labels.csv"), "filename,label\nimg_00000.jpg,car\n")
		}, ""},
		{"labels.csv that does not parse", srcNoManifest, true, func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "labels.csv"), "\xff\x00\"broken")
		}, ""},
		{"<filename> names another image", srcNoManifest, true, vocWith("<filename>img_00000.jpg</filename>", "<filename>other.png</filename>"), ""},
		{"difficult 2", srcDifficult, true, vocWith("<difficult>0</difficult>", "<difficult>2</difficult>"), ""},
		{"difficult with spaces", srcDifficult, true, vocWith("<difficult>0</difficult>", "<difficult> 1 </difficult>"), ""},
		{"difficult -1", srcDifficult, false, vocWith("<difficult>0</difficult>", "<difficult>-1</difficult>"), `<difficult> is "-1", not a non-negative integer`},
		{"difficult empty", srcDifficult, false, vocWith("<difficult>0</difficult>", "<difficult></difficult>"), `<difficult> is "", not a non-negative integer`},
		{"class name with a space", srcLabelCell, false, vocWith("<name>car</name>", "<name>traffic light</name>"),
			`annotations/img_00000.xml line 15: object 1 <name> is "traffic light"`},
		{"class name with a colon", srcLabelCell, false, vocWith("<name>car</name>", "<name>car:red</name>"), `<name> is "car:red"`},
		{"class name with a no-break space", srcLabelCell, false, vocWith("<name>car</name>", "<name>car\u00a0red</name>"), "object names hold white space"},
		{"class name trimmed", srcLabelCell, true, vocWith("<name>car</name>", "<name>  car\n</name>"), ""},
		{"class name with a zero-width space", srcLabelCell, true, vocWith("<name>car</name>", "<name>car\u200bred</name>"), ""},
		{"label cell over 255 characters", srcLabelCell, false, func(t *testing.T, dir string) {
			var classes []string
			for i := range 26 { // 26 pairs "class_<letter>xxx:1" of 12 characters and 25 spaces
				classes = append(classes, "class_"+string(rune('a'+i))+"xxx")
			}
			writeXML(t, dir, "img_00004", string(fixture.VOC("img_00004.jpg", pW, pH, classes)))
		}, "1 images have a label cell over 255 characters: annotations/img_00004.xml line 1: the classes make a label cell of 337 characters"},
		{"label cell of 255 characters, more bytes", srcLabelCell, true, longCell(0), ""},
		{"label cell of 256 characters", srcLabelCell, false, longCell(1), "the classes make a label cell of 256 characters"},
		{"truncated XML", srcVOC, false, func(t *testing.T, dir string) {
			writeXML(t, dir, "img_00000", "<annotation>\n  <folder>images</folder>\n  <object>\n")
		}, "not well-formed XML: annotations/img_00000.xml line"},
		{"root is not annotation", srcVOC, false, func(t *testing.T, dir string) {
			writeXML(t, dir, "img_00000", "<root>\n"+string(fixture.VOC("img_00000.jpg", pW, pH, []string{"car"}))+"</root>\n")
		}, "annotations/img_00000.xml line 1: the root element is <root>"},
		{"object without name", srcVOC, false, vocWith("<name>car</name>", ""), "annotations/img_00000.xml line 14: object 1 has no <name>"},
		{"object without pose", srcVOC, false, vocWith("<pose>Unspecified</pose>", ""), "object 1 has no <pose>"},
		{"truncated is yes", srcVOC, false, vocWith("<truncated>0</truncated>", "<truncated>yes</truncated>"), `<truncated> is "yes", not 0 or 1`},
		{"no size", srcVOC, false, vocWith("<width>40</width>", ""), "<size> has no <width>"},
		{"fractional coordinate", srcVOC, false, vocWith("<xmin>0</xmin>", "<xmin>0.5</xmin>"), `<xmin> is "0.5", not a non-negative integer`},
		{"empty box", srcVOC, false, vocWith("<xmax>40</xmax>", "<xmax>0</xmax>"), "is empty: xmin < xmax"},
		{"box beyond the image", srcPreflight, false, vocWith("<xmax>40</xmax>", "<xmax>41</xmax>"), "reaches beyond the 40×32 image"},
		{"no object", srcNoObject, true, func(t *testing.T, dir string) {
			writeXML(t, dir, "img_00000", string(fixture.VOC("img_00000.jpg", pW, pH, nil)))
		}, ""},
		{"no object anywhere", srcDiversity, false, func(t *testing.T, dir string) {
			for i := range pN {
				stem := strings.TrimSuffix(fixtureName(i), ".jpg")
				writeXML(t, dir, stem, string(fixture.VOC(fixtureName(i), pW, pH, nil)))
			}
		}, "no annotation file in annotations/ holds an <object>"},
		{"one class only", srcDiversity, false, func(t *testing.T, dir string) {
			for i := range pN {
				stem := strings.TrimSuffix(fixtureName(i), ".jpg")
				writeXML(t, dir, stem, string(fixture.VOC(fixtureName(i), pW, pH, []string{"car"})))
			}
		}, `every object in annotations/ is a "car"`},
		{"entity declaration", srcVOC, false, func(t *testing.T, dir string) {
			doc := string(fixture.VOC("img_00000.jpg", pW, pH, []string{"car"}))
			writeXML(t, dir, "img_00000", `<!DOCTYPE a [<!ENTITY x "car">]>`+"\n"+strings.Replace(doc, "<name>car</name>", "<name>&x;</name>", 1))
		}, "annotations/img_00000.xml line"},
	},
	"semantic_segmentation": {
		{"mask missing", srcPairing, false, func(t *testing.T, dir string) {
			must(t, os.Remove(filepath.Join(dir, "masks", "img_00001_mask.png")))
		}, "masks/img_00001_mask.png (for images/img_00001.jpg)"},
		{"mask named like its image", srcPairing, false, func(t *testing.T, dir string) {
			must(t, os.Rename(filepath.Join(dir, "masks", "img_00001_mask.png"), filepath.Join(dir, "masks", "img_00001.png")))
		}, "pair with no file of images/: masks/img_00001.png"},
		{"mask without image", srcPairing, false, func(t *testing.T, dir string) {
			mask, err := fixture.Mask(pW, pH, 0)
			must(t, err)
			writeFile(t, filepath.Join(dir, "masks", "stray_mask.png"), string(mask))
		}, "masks/stray_mask.png"},
		{"masks folder missing", srcPairing, false, func(t *testing.T, dir string) {
			must(t, os.RemoveAll(filepath.Join(dir, "masks")))
		}, "masks/ is missing"},
		{"mask is a JPEG", srcMask, false, func(t *testing.T, dir string) {
			writeImage(t, filepath.Join(dir, "masks", "img_00002_mask.jpg"), pW, pH)
			must(t, os.Rename(filepath.Join(dir, "masks", "img_00002_mask.jpg"), filepath.Join(dir, "masks", "img_00002_mask.png")))
		}, "masks/img_00002_mask.png (is JPEG)"},
		{"mask does not decode", srcMask, false, func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "masks", "img_00002_mask.png"), "PNG?")
		}, "masks do not decode as PNG: masks/img_00002_mask.png"},
		{"mask of another size", srcMask, false, func(t *testing.T, dir string) {
			mask, err := fixture.Mask(pW/2, pH/2, 0)
			must(t, err)
			writeFile(t, filepath.Join(dir, "masks", "img_00003_mask.png"), string(mask))
		}, "masks/img_00003_mask.png is 20×16, images/img_00003.jpg is 40×32"},
		{"mask_id column missing", srcMaskID, false, func(t *testing.T, dir string) { dropColumn(t, dir, "mask_id") }, `no "mask_id" column`},
		{"Mask_ID header", srcMaskID, false, func(t *testing.T, dir string) {
			editCSV(t, dir, func(rows [][]string) [][]string { rows[0][2] = "Mask_ID"; return rows })
		}, `"Mask_ID" is close`},
		{"empty mask_id", srcMaskID, false, func(t *testing.T, dir string) { setCell(t, dir, "mask_id", 2, "") }, "1 rows of labels.csv have an empty mask_id: line 3"},
		{"mask_id NA", srcMaskID, false, func(t *testing.T, dir string) { setCell(t, dir, "mask_id", 4, "NA") }, "have an empty mask_id: line 5"},
		{"mask_id blank", srcMaskID, false, func(t *testing.T, dir string) { setCell(t, dir, "mask_id", 1, "   ") }, "have an empty mask_id: line 2"},
	},
	"keypoint_detection": {
		{"Annotation column missing", srcKPAnn, false, func(t *testing.T, dir string) { dropColumn(t, dir, "Annotation") }, `no "Annotation" column`},
		{"Visibility column missing", srcKPVis, false, func(t *testing.T, dir string) { dropColumn(t, dir, "Visibility") }, `no "Visibility" column`},
		{"annotation is not JSON", srcKPAnn, false, func(t *testing.T, dir string) { setCell(t, dir, "Annotation", 1, "p0: 1,2") },
			"keypoint cells are not a JSON object: labels.csv line 2"},
		{"three coordinates", srcKPAnn, false, func(t *testing.T, dir string) {
			setCell(t, dir, "Annotation", 2, `{"p0": [1, 2, 2], "p1": [10, 20], "p2": [30, 5]}`)
		}, `labels.csv line 3 point "p0" is "[1, 2, 2]"`},
		{"coordinate is a string", srcKPAnn, false, func(t *testing.T, dir string) {
			setCell(t, dir, "Annotation", 2, `{"p0": ["1", 2], "p1": [10, 20], "p2": [30, 5]}`)
		}, `point "p0"`},
		{"negative coordinate", srcKPAnn, false, func(t *testing.T, dir string) {
			setCell(t, dir, "Annotation", 3, `{"p0": [-1, 2], "p1": [10, 20], "p2": [30, 5]}`)
		}, `labels.csv line 4 point "p0" at (-1, 2)`},
		{"fewer points than --number-of-keypoints", srcKPAnn, false, func(t *testing.T, dir string) {
			setCell(t, dir, "Annotation", 1, `{"p0": [1, 2], "p1": [10, 20]}`)
			setCell(t, dir, "Visibility", 1, `{"p0": 1, "p1": 0}`)
		}, "labels.csv line 2 has 2, not 3"},
		{"all points on one spot", srcKPAnn, false, func(t *testing.T, dir string) {
			setCell(t, dir, "Annotation", 1, `{"p0": [5, 5], "p1": [5, 5], "p2": [5, 5]}`)
		}, "do not span an area: labels.csv line 2"},
		{"other point names", srcKPAnn, false, func(t *testing.T, dir string) {
			setCell(t, dir, "Annotation", 2, `{"p0": [1, 2], "p1": [10, 20], "nose": [30, 5]}`)
			setCell(t, dir, "Visibility", 2, `{"p0": 1, "p1": 1, "nose": 1}`)
		}, "labels.csv line 3 has nose,p0,p1, line 2 has p0,p1,p2"},
		{"visibility 2", srcKPVis, false, func(t *testing.T, dir string) { setCell(t, dir, "Visibility", 1, `{"p0": 2, "p1": 0, "p2": 1}`) },
			`visibility flags are not 0 or 1: labels.csv line 2 "p0" is "2"`},
		{"visibility misses a point", srcKPVis, false, func(t *testing.T, dir string) { setCell(t, dir, "Visibility", 1, `{"p0": 1, "p1": 0}`) },
			"Visibility names p0,p1, the points are p0,p1,p2"},
		{"visibility true and 1.0", srcKPVis, true, func(t *testing.T, dir string) {
			setCell(t, dir, "Visibility", 1, `{"p0": true, "p1": 0.0, "p2": 1.0}`)
		}, ""},
		{"visibility 0.5", srcKPVis, false, func(t *testing.T, dir string) { setCell(t, dir, "Visibility", 1, `{"p0": 0.5, "p1": 0, "p2": 1}`) },
			`"p0" is "0.5"`},
		{"point beyond --target-size", srcStrict, false, func(t *testing.T, dir string) {
			setCell(t, dir, "Annotation", 1, `{"p0": [40, 2], "p1": [10, 20], "p2": [30, 5]}`)
		}, `point "p0" at (40, 2)`},
		{"points as objects", srcKPAnn, true, func(t *testing.T, dir string) {
			setCell(t, dir, "Annotation", 1, `{"p0": {"x": 1, "y": 2}, "p1": {"x": 10.5, "y": 20}, "p2": [30, 5]}`)
		}, ""},
		{"one label value", srcLabel, false, func(t *testing.T, dir string) {
			editCSV(t, dir, func(rows [][]string) [][]string {
				for _, r := range rows[1:] {
					r[1] = "pose"
				}
				return rows
			})
		}, "at least 2 label values"},
	},
}

func fixtureName(i int) string { return fixture.Options{}.Defaults().Name(i) }

// TestParity: for every image task, the pre-flight gives the ingestor's
// verdict on each case of the corpus, and names the problem.
func TestParity(t *testing.T) {
	for taskName, specific := range parityTasks {
		task, ok := category.Lookup(taskName)
		if !ok {
			t.Fatalf("no task %s", taskName)
		}
		cases := commonCases()
		if task.Manifest.Listed() {
			cases = append(cases, manifestCases()...)
		}
		cases = append(cases, specific...)
		broken := 0
		for _, c := range cases {
			if !c.accepted {
				broken++
			}
		}
		if broken < 10 {
			t.Errorf("%s: %d broken cases, want at least 10", taskName, broken)
		}
		for _, c := range cases {
			t.Run(taskName+"/"+c.name, func(t *testing.T) {
				dir := parityDataset(t, taskName)
				c.mutate(t, dir)
				opts := Options{Task: task, LabelColumn: "label", Limits: DefaultLimits}
				if task.AppliesFlag("number-of-keypoints") {
					opts.TargetSize, opts.NumberOfKeypoints = []int{pW, pH}, 3
				}
				ds, err := Check(dir, opts)
				if c.accepted {
					if err != nil {
						t.Fatalf("the ingestor accepts this (%s); the pre-flight refuses it:\n%v", c.source, err)
					}
					if ds.Images != pN {
						t.Errorf("Images = %d, want %d", ds.Images, pN)
					}
					return
				}
				if err == nil {
					t.Fatalf("the ingestor refuses this (%s); the pre-flight passes it", c.source)
				}
				if code := exitcode.Of(err); code != exitcode.Local {
					t.Errorf("exit code = %d, want %d", code, exitcode.Local)
				}
				if !strings.Contains(err.Error(), c.want) {
					t.Errorf("the report does not name the problem %q:\n%v", c.want, err)
				}
			})
		}
	}
}

func TestValidImageTasks(t *testing.T) {
	tests := []struct {
		task  string
		check func(t *testing.T, ds *Dataset)
	}{
		{"object_detection", func(t *testing.T, ds *Dataset) {
			// Images 0 and 3 hold two objects (car, person and car... see fixture.Write).
			if ds.Sidecars["annotations"] != pN || ds.Objects != pN+2 || ds.Classes["car"] != 4 || ds.Classes["person"] != 4 {
				t.Errorf("annotations %d, objects %d, classes %v", ds.Sidecars["annotations"], ds.Objects, ds.Classes)
			}
		}},
		{"semantic_segmentation", func(t *testing.T, ds *Dataset) {
			if ds.Sidecars["masks"] != pN {
				t.Errorf("masks = %d", ds.Sidecars["masks"])
			}
		}},
		{"keypoint_detection", func(t *testing.T, ds *Dataset) {
			if ds.Keypoints != 3 || ds.Width != pW {
				t.Errorf("keypoints %d, width %d", ds.Keypoints, ds.Width)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.task, func(t *testing.T) {
			task, _ := category.Lookup(tt.task)
			dir := parityDataset(t, tt.task)
			ds, err := Check(dir, Options{Task: task, LabelColumn: "label", Limits: DefaultLimits, TargetSize: []int{pW, pH}, NumberOfKeypoints: 3})
			if err != nil {
				t.Fatal(err)
			}
			var folders []string
			for _, f := range ds.Files {
				folders = append(folders, strings.SplitN(f.Rel, "/", 2)[0])
			}
			want := task.Folders()
			if task.Manifest.Listed() {
				want = append(want, "labels.csv")
			}
			for _, w := range want {
				if !strings.Contains(strings.Join(folders, " "), w) {
					t.Errorf("no file of %s is staged: %v", w, folders)
				}
			}
			if n := len(want) - len(task.Folders()) + pN*len(task.Folders()); len(ds.Files) != n {
				t.Errorf("%d files staged, want %d", len(ds.Files), n)
			}
			if ds.Rows != pN {
				t.Errorf("%d records, want %d", ds.Rows, pN)
			}
			tt.check(t, ds)
		})
	}
}
