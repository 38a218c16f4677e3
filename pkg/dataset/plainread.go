package dataset

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/tracebloc/kubectl-tracebloc/pkg/csvread"
)

// plainBIO reads labels.csv a second time as the ingestor's BIO validator
// reads it, before the ingest loop: pandas with its defaults, so without
// the \ escape (a \ at a line's end stays in the label as a tag of its
// own), a row with more fields than the header skipped, NA and the like
// read as the tag "nan", both columns found without regard to case. It is
// called only when the first reading (the ingest loop's, which training
// sees) met an escape, the one case where the two can differ; it reports
// the rows whose label differs from that reading (ingest, by line) and
// holds a tag that is not BIO, and returns their tag counts for the words
// check.
func plainBIO(abs string, o TextOptions, ext string, files *texts, ingest map[int]string, probs *problemList) map[int][]tagCount {
	f, err := openRead(filepath.Join(abs, LabelsFile))
	if err != nil {
		probs.add("opening labels.csv: %v", err)
		return nil
	}
	defer f.close()
	s := csvread.NewPlainStream(f, LabelsFile)
	header, err := s.Read()
	if err != nil {
		return nil // the first reading reported what is wrong with the header
	}
	fileCol, labelCol := -1, -1
	for i, h := range header {
		switch {
		case string(h) == FilenameColumn, fileCol < 0 && strings.EqualFold(string(h), FilenameColumn):
			fileCol = i
		case string(h) == o.LabelColumn, labelCol < 0 && strings.EqualFold(string(h), o.LabelColumn):
			labelCol = i
		}
	}
	if fileCol < 0 || labelCol < 0 {
		return nil
	}
	tags := map[int][]tagCount{}
	for {
		rec, err := s.Read()
		if errors.Is(err, io.EOF) || err != nil {
			return tags // a problem of the text was reported by the first reading
		}
		if len(rec) > len(header) {
			continue // pandas warns and skips the line
		}
		label := ""
		if labelCol < len(rec) {
			label = string(rec[labelCol])
		}
		if isMissing([]byte(label)) {
			label = "nan" // str() of pandas' NaN
		}
		line := s.Line()
		if want, ok := ingest[line]; ok && want == label {
			continue
		}
		if bad := badBIO([]byte(label)); bad != "" {
			probs.atLine("labels.csv line %d: the ingestor's BIO validator reads labels.csv without the \\ escape and finds the tag \"%s\" in %s %s: write the BIO tags of a row on one line, without backslashes",
				line, bad, o.LabelColumn, clip(label))
		}
		if fileCol < len(rec) {
			if file, found := resolveText(string(rec[fileCol]), ext, files); found {
				n, _ := countWords([]byte(label), false)
				tags[file] = append(tags[file], tagCount{line: line, tags: n, plain: true})
			}
		}
	}
}

// plainRagged reads a tabular CSV again as the ingestor's Data Validator
// reads it before the ingest loop: pandas with its defaults, so without
// the \ escape, and a line with more fields than the header fails it
// (on_bad_lines=error). Called only when the first reading met an escape:
// Rome\, IT is one value there and two here. It returns the problem, ""
// when there is none.
func plainRagged(full, name string, width int) string {
	f, err := openRead(full)
	if err != nil {
		return fmt.Sprintf("opening %s: %v", name, err)
	}
	defer f.close()
	s := csvread.NewPlainStream(f, name)
	for first := true; ; first = false {
		rec, err := s.Read()
		if errors.Is(err, io.EOF) {
			return ""
		}
		var ce *csvread.Error
		switch {
		case errors.As(err, &ce) && ce.Fatal:
			return fmt.Sprintf("%s, read without the \\ escape as the ingestor's Data Validator reads it: %s", name, strings.TrimPrefix(ce.Error(), name+" "))
		case err != nil:
			continue // not UTF-8: the first reading reported it
		}
		if !first && len(rec) > width {
			return fmt.Sprintf("%s line %d has %d fields, read without the \\ escape as the ingestor's Data Validator reads it (the header has %d): it refuses the file; quote a value that holds a comma (\"Rome, IT\") rather than escape the comma",
				name, s.Line(), len(rec), width)
		}
	}
}
