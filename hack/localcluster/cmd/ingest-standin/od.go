package main

import (
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"sigs.k8s.io/yaml"
)

// objectDetection is the one task whose records are not listed in a csv:
// since layout contract v4 they are its annotations/<stem>.xml.
const objectDetection = "object_detection"

// maxLabelCell is the width of the label column, in characters.
const maxLabelCell = 255

// odSpecProblems applies the ingest schema's object detection rule: no csv,
// json or label (its records and labels come from the annotations), and
// images and annotations folders.
func odSpecProblems(config string) []string {
	var keys map[string]any
	if err := yaml.Unmarshal([]byte(config), &keys); err != nil {
		return nil // reported as not YAML by the caller
	}
	var problems []string
	for _, k := range []string{"csv", "json", "label"} {
		if _, ok := keys[k]; ok {
			problems = append(problems, "object_detection must not set "+k+": its records are the annotations (one per image) and each label comes from <object><name>")
		}
	}
	return problems
}

// odRecords are the object detection records found in an annotations folder.
type odRecords struct {
	files   []string
	records int
	skipped int
	// boxes counts the objects of each class.
	boxes map[string]int
}

// enumerateVOC reads dir/*.xml (case-sensitive, sorted) the way the
// ingestor does: one record per file, labelled "class:count ..." from its
// objects' trimmed names. A file without a named object is a skipped
// record; an unreadable file, a class name with white space or ':', a label
// cell over 255 characters, and fewer than two classes fail the run.
// Errors name the file, never its values.
func enumerateVOC(out io.Writer, dir string) (*odRecords, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.xml"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no annotations (*.xml) in %s", dir)
	}
	sort.Strings(files)
	od := &odRecords{files: files, boxes: map[string]int{}}
	for _, f := range files {
		names, err := objectNames(f)
		if err != nil {
			return nil, fmt.Errorf("annotation %s is not valid Pascal VOC: %T", filepath.Base(f), err)
		}
		od.records++
		if len(names) == 0 {
			od.skipped++
			fmt.Fprintf(out, "WARNING - %s: no object, record skipped\n", filepath.Base(f))
			continue
		}
		counts := map[string]int{}
		for _, n := range names {
			if strings.ContainsFunc(n, func(r rune) bool { return r == ':' || unicode.IsSpace(r) }) {
				return nil, fmt.Errorf("annotation %s: a class name holds white space or ':', which a label cell cannot encode", filepath.Base(f))
			}
			counts[n]++
			od.boxes[n]++
		}
		classes := slices.Sorted(maps.Keys(counts))
		pairs := make([]string, len(classes))
		for i, c := range classes {
			pairs[i] = c + ":" + strconv.Itoa(counts[c])
		}
		cell := strings.Join(pairs, " ")
		if utf8.RuneCountInString(cell) > maxLabelCell {
			return nil, fmt.Errorf("annotation %s: its label cell is over %d characters", filepath.Base(f), maxLabelCell)
		}
	}
	if len(od.boxes) < 2 {
		return nil, fmt.Errorf("the annotations hold %d distinct classes: object detection needs at least 2", len(od.boxes))
	}
	return od, nil
}

// objectNames returns the trimmed, non-empty <object><name> values of a
// Pascal VOC file.
func objectNames(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		XMLName xml.Name `xml:"annotation"`
		Objects []struct {
			Name string `xml:"name"`
		} `xml:"object"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	var names []string
	for _, o := range doc.Objects {
		if n := strings.TrimSpace(o.Name); n != "" {
			names = append(names, n)
		}
	}
	return names, nil
}

// copyTo copies the annotation files to dest, as the ingestor's file
// transfer does.
func (od *odRecords) copyTo(dest string) error {
	if err := os.MkdirAll(dest, 0o777); err != nil {
		return err
	}
	_ = os.Chmod(dest, 0o2777)
	for _, f := range od.files {
		if err := copyFile(f, filepath.Join(dest, filepath.Base(f))); err != nil {
			return err
		}
	}
	return nil
}
