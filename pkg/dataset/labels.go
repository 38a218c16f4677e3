package dataset

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// checkLabels reads labels.csv once, streaming, and checks its text, header
// and rows against the images found.
func checkLabels(abs, labelColumn string, images map[string]struct{}, ds *Dataset, probs *Problems) {
	f, err := os.Open(filepath.Join(abs, LabelsFile))
	if err != nil {
		probs.addf("opening labels.csv: %v", err)
		return
	}
	defer f.Close()
	r := csv.NewReader(newTextReader(f))
	r.ReuseRecord = true

	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		probs.addf("labels.csv is empty: it needs a header (%s,%s) and one row per image", FilenameColumn, labelColumn)
		return
	}
	if err != nil {
		probs.addf("%s", csvProblem(err))
		return
	}
	header = append([]string(nil), header...)
	fileCol, labelCol, ok := checkHeader(header, labelColumn, probs)

	referenced := make(map[string]struct{})
	var missing, emptyNames []string
	emptyLabels, dupRows := 0, 0
	ds.Labels = map[string]int{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			probs.addf("%s", csvProblem(err))
			return
		}
		ds.Rows++
		if !ok {
			continue
		}
		line, _ := r.FieldPos(0)
		name := rec[fileCol]
		if name == "" {
			emptyNames = append(emptyNames, fmt.Sprintf("line %d", line))
		} else {
			if _, seen := referenced[name]; seen {
				dupRows++
			}
			referenced[name] = struct{}{}
			if _, found := images[name]; !found {
				missing = append(missing, name)
			}
		}
		if label := rec[labelCol]; label == "" {
			emptyLabels++
		} else {
			ds.Labels[label]++
		}
	}
	if ds.Rows == 0 {
		probs.addf("labels.csv has a header but no rows: add one row per image")
		return
	}
	if !ok {
		return
	}
	reportRows(missing, emptyNames, emptyLabels, dupRows, labelColumn, ds, probs)
	noteUnreferenced(images, referenced, ds)
}

func checkHeader(header []string, labelColumn string, probs *Problems) (fileCol, labelCol int, ok bool) {
	seen := map[string]int{}
	fileCol, labelCol = -1, -1
	ok = true
	for i, h := range header {
		if first, dup := seen[h]; dup {
			probs.addf("labels.csv names the column %q twice (columns %d and %d): column names must be unique", h, first+1, i+1)
			ok = false
			continue
		}
		seen[h] = i
		if h == FilenameColumn {
			fileCol = i
		}
		if h == labelColumn {
			labelCol = i
		}
	}
	cols := quoteAll(header)
	if fileCol < 0 {
		hint := ""
		for _, h := range header {
			if strings.EqualFold(strings.TrimSpace(h), FilenameColumn) {
				hint = fmt.Sprintf(" (%q is close: the name must be exactly %q, lower-case, no spaces)", h, FilenameColumn)
			}
		}
		probs.addf("labels.csv has no %q column%s; its columns are %s: the ingestor finds each image by that column", FilenameColumn, hint, cols)
		ok = false
	}
	if labelCol < 0 {
		probs.addf("labels.csv has no label column %q; its columns are %s: name the right one with --label-column", labelColumn, cols)
		ok = false
	}
	return fileCol, labelCol, ok
}

func reportRows(missing, emptyNames []string, emptyLabels, dupRows int, labelColumn string, ds *Dataset, probs *Problems) {
	if len(missing) > 0 {
		sort.Strings(missing)
		hint := ": put those files in images/ or remove their rows"
		if strings.Contains(missing[0], "/") {
			hint = ": the filename column holds bare file names (e.g. cat1.jpg, not images/cat1.jpg)"
		}
		probs.addf("%d rows of labels.csv name images that are not in images/: %s%s", len(missing), listFirst(missing, 5), hint)
	}
	if len(emptyNames) > 0 {
		probs.addf("%d rows of labels.csv have an empty %s: %s", len(emptyNames), FilenameColumn, listFirst(emptyNames, 5))
	}
	if emptyLabels > 0 {
		probs.addf("%d rows of labels.csv have an empty %q: give every row a label", emptyLabels, labelColumn)
	}
	if dupRows > 0 {
		ds.Notes = append(ds.Notes, fmt.Sprintf("%d rows of labels.csv repeat an image named by an earlier row", dupRows))
	}
	if len(ds.Labels) == 1 {
		for v := range ds.Labels {
			probs.addf("every row of labels.csv has the same %s %q: a classifier needs at least two label values", labelColumn, v)
		}
	}
}

func noteUnreferenced(images, referenced map[string]struct{}, ds *Dataset) {
	var extra []string
	for name := range images {
		if _, ok := referenced[name]; !ok {
			extra = append(extra, ImagesDir+"/"+name)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		ds.Notes = append(ds.Notes, fmt.Sprintf("%d files in images/ have no row in labels.csv (staged, but not ingested): %s", len(extra), listFirst(extra, 3)))
	}
}

func csvProblem(err error) string {
	var te *TextError
	if errors.As(err, &te) {
		return te.Error()
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			return fmt.Sprintf("labels.csv line %d has a different number of fields than the header: every row needs one value per column", pe.Line)
		}
		return fmt.Sprintf("labels.csv line %d: %v: check the quoting of that line", pe.Line, pe.Err)
	}
	return fmt.Sprintf("reading labels.csv: %v", err)
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
