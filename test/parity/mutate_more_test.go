package parity

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
)

func tabular(t string) bool { return family(t) == "tabular" }
func timeSeries(t string) bool {
	return t == "time_series_forecasting" || t == "time_series_classification"
}

// addColumn appends a column whose value in row i is v(i).
func addColumn(s *sample, name string, v func(i int) string) bool {
	s.tab.header = append(s.tab.header, name)
	for i := range s.tab.rows {
		s.tab.rows[i] = append(s.tab.rows[i], v(i))
	}
	if s.schema != "" {
		s.schema += "," + name + ":VARCHAR(64)"
	}
	return true
}

// numberEdges are numeric spellings: some numbers for pandas, some text.
var numberEdges = []string{"1e400", "-1e400", "inf", "-inf", "Infinity", "nan", "NaN", "99999999999999999999", "-9223372036854775809",
	"9223372036854775807", " 12 ", "+12", "1_000", "0x1F", "-0", "1e5", ".5", "5.", "1,000", "1.5e-300", "00012", "12 ", " 12", "1.0e+3", "٣"}

// dateShapes are ways people write a date or a time.
var dateShapes = []string{"2024-01-05", "2024/01/05", "05/01/2024", "01/05/2024", "2024-01-05T10:00:00", "2024-01-05T10:00:00Z",
	"2024-01-05T10:00:00+02:00", "2024-01-05 10:00:00.123", "2024-01-05 10:00", "Jan 5 2024", "20240105", "5.1.2024",
	"2024-01-05 10:00:00 UTC", "1704448800", "2024-1-5", "10:00:00"}

// shapeAt writes row i's date in shape, days after a base day.
func shapeAt(shape string, i int) string {
	day := 1 + i
	r := strings.NewReplacer("05", fmt.Sprintf("%02d", day), "-5", fmt.Sprintf("-%d", day), " 5 ", fmt.Sprintf(" %d ", day),
		"5.1", fmt.Sprintf("%d.1", day), "1704448800", fmt.Sprint(1704448800+86400*i))
	return r.Replace(shape)
}

var tabularMutations = []mutation{
	{"number-edge", tabular, func(s *sample, rng *rand.Rand) bool {
		return setCell(s, "f1", row(s, rng), numberEdges[rng.IntN(len(numberEdges))])
	}},
	{"number-edge-float", tabular, func(s *sample, rng *rand.Rand) bool {
		return setCell(s, "f2", row(s, rng), numberEdges[rng.IntN(len(numberEdges))])
	}},
	{"number-edge-column", tabular, func(s *sample, rng *rand.Rand) bool {
		v := numberEdges[rng.IntN(len(numberEdges))]
		s.tab.set("f2", nil, func(i int, old string) string {
			if i%2 == 0 {
				return v
			}
			return old
		})
		return true
	}},
	{"number-spaces", tabular, func(s *sample, _ *rand.Rand) bool {
		s.tab.set("f1", nil, func(_ int, old string) string { return " " + old + " " })
		return true
	}},
	{"number-na", tabular, func(s *sample, rng *rand.Rand) bool {
		return setCell(s, "f2", row(s, rng), []string{"", "NA", "None", "null", "N/A", "nan", "#N/A", "-"}[rng.IntN(8)])
	}},
	{"label-regression-text", isTask("tabular_regression", "time_series_forecasting", "time_to_event_prediction"), func(s *sample, rng *rand.Rand) bool {
		return setCell(s, s.labelColumn, row(s, rng), "high")
	}},
	{"policy-passthrough", isTask("tabular_regression", "time_series_forecasting", "time_to_event_prediction"), func(s *sample, _ *rand.Rand) bool {
		s.policy = "passthrough"
		return true
	}},
	{"bool-yes-no", tabular, func(s *sample, rng *rand.Rand) bool {
		words := [][2]string{{"yes", "no"}, {"true", "false"}, {"True", "False"}, {"Y", "N"}, {"1", "0"}, {"on", "off"}}[rng.IntN(6)]
		addColumn(s, "flag", func(i int) string { return words[i%2] })
		if rng.IntN(2) == 0 {
			s.schema = declaredSchema(s, map[string]string{"flag": "BOOLEAN"})
		}
		return true
	}},
	{"date-shape", tabular, func(s *sample, rng *rand.Rand) bool {
		shape := dateShapes[rng.IntN(len(dateShapes))]
		return addColumn(s, "day", func(i int) string { return shapeAt(shape, i) })
	}},
	{"date-two-shapes", tabular, func(s *sample, rng *rand.Rand) bool {
		a, b := dateShapes[rng.IntN(len(dateShapes))], dateShapes[rng.IntN(len(dateShapes))]
		return addColumn(s, "day", func(i int) string {
			if i%2 == 0 {
				return shapeAt(a, i)
			}
			return shapeAt(b, i)
		})
	}},
	// A declared DATE column written otherwise than year first, in one
	// shape or, now and then, with one row in another.
	{"date-other-shapes", tabular, func(s *sample, rng *rand.Rand) bool {
		a, b := otherDateShapes[rng.IntN(len(otherDateShapes))], otherDateShapes[rng.IntN(len(otherDateShapes))]
		odd := -1
		if rng.IntN(2) == 0 {
			odd = 1 + rng.IntN(len(s.tab.rows)-1)
		}
		days := make([]int, len(s.tab.rows))
		for i := range days {
			days[i] = 1 + rng.IntN(28)
		}
		addColumn(s, "day", func(i int) string {
			if i == odd {
				return b(1+i%12, days[i])
			}
			return a(1+i%12, days[i])
		})
		s.schema = declaredSchema(s, map[string]string{"day": []string{"DATE", "DATETIME"}[rng.IntN(2)]})
		return true
	}},
	{"date-dash-slash", tabular, func(s *sample, _ *rand.Rand) bool {
		return addColumn(s, "day", func(i int) string {
			return []string{"2024-01-%02d", "2024/01/%02d"}[i%2]
		}) && fixDays(s)
	}},
	{"timestamp-shape", timeSeries, func(s *sample, rng *rand.Rand) bool {
		shape := dateShapes[rng.IntN(len(dateShapes)-1)]
		s.tab.set("timestamp", nil, func(i int, _ string) string { return shapeAt(shape, i) })
		return true
	}},
	{"timestamp-z", timeSeries, func(s *sample, _ *rand.Rand) bool {
		s.tab.set("timestamp", nil, func(_ int, old string) string { return strings.Replace(old, " ", "T", 1) + "Z" })
		return true
	}},
	{"timestamp-unordered", timeSeries, func(s *sample, _ *rand.Rand) bool {
		c := s.tab.col("timestamp")
		r := s.tab.rows
		r[0][c], r[len(r)-1][c] = r[len(r)-1][c], r[0][c]
		return true
	}},
	{"timestamp-future", timeSeries, func(s *sample, _ *rand.Rand) bool {
		s.tab.rows[len(s.tab.rows)-1][s.tab.col("timestamp")] = today.AddDate(1, 0, 0).Format("2006-01-02 15:04:05")
		return true
	}},
	{"timestamp-today", timeSeries, func(s *sample, _ *rand.Rand) bool {
		s.tab.rows[len(s.tab.rows)-1][s.tab.col("timestamp")] = today.Format("2006-01-02") + " 00:00:00"
		return true
	}},
	{"timestamp-empty", timeSeries, func(s *sample, rng *rand.Rand) bool { return setCell(s, "timestamp", row(s, rng), "") }},
	{"timestamp-declared", timeSeries, func(s *sample, rng *rand.Rand) bool {
		t := []string{"DATE", "DATETIME", "TIMESTAMP", "BIGINT", "VARCHAR(32)"}[rng.IntN(5)]
		s.schema = declaredSchema(s, map[string]string{"timestamp": t})
		return true
	}},
	{"time-column-flag", isTask("time_to_event_prediction"), func(s *sample, _ *rand.Rand) bool {
		renameHeader(s, "time", "duration")
		s.timeColumn = "duration"
		return true
	}},
	{"tte-negative-time", isTask("time_to_event_prediction"), func(s *sample, rng *rand.Rand) bool { return setCell(s, "time", row(s, rng), "-3") }},
	{"tte-event-2", isTask("time_to_event_prediction"), func(s *sample, rng *rand.Rand) bool { return setCell(s, "event", row(s, rng), "2") }},
	{"tte-time-text", isTask("time_to_event_prediction"), func(s *sample, rng *rand.Rand) bool { return setCell(s, "time", row(s, rng), "soon") }},
	{"tte-no-time", isTask("time_to_event_prediction"), func(s *sample, _ *rand.Rand) bool { return renameHeader(s, "time", "t") }},
	{"tsc-empty-id", isTask("time_series_classification"), func(s *sample, rng *rand.Rand) bool { return setCell(s, "sequence_id", row(s, rng), "") }},
	{"tsc-label-changes", isTask("time_series_classification"), func(s *sample, _ *rand.Rand) bool {
		s.tab.rows[len(s.tab.rows)-1][s.tab.col("label")] = "jump"
		return true
	}},
	{"tsc-inferred", isTask("time_series_classification"), func(s *sample, _ *rand.Rand) bool { s.schema = ""; return true }},
	{"tsf-text-feature", isTask("time_series_forecasting"), func(s *sample, _ *rand.Rand) bool {
		return addColumn(s, "city2", func(i int) string { return []string{"Paris", "Oslo"}[i%2] })
	}},
	// column names
	{"name-79", tabular, func(s *sample, _ *rand.Rand) bool { return renameHeader(s, "f2", strings.Repeat("c", 79)) }},
	{"name-64", tabular, func(s *sample, _ *rand.Rand) bool { return renameHeader(s, "f2", strings.Repeat("c", 64)) }},
	{"name-trailing-twin", tabular, func(s *sample, _ *rand.Rand) bool {
		renameHeader(s, "f1", "area")
		return renameHeader(s, "f2", "area ")
	}},
	{"name-case-twin", tabular, func(s *sample, _ *rand.Rand) bool {
		renameHeader(s, "f1", "area")
		return renameHeader(s, "f2", "Area")
	}},
	{"name-id", tabular, func(s *sample, rng *rand.Rand) bool {
		n := []string{"id", "ID", "data_id", "filename", "status", "created_at", "label_id"}[rng.IntN(7)]
		s.tab.header = append([]string{n}, s.tab.header...)
		for i := range s.tab.rows {
			s.tab.rows[i] = append([]string{fmt.Sprint(i + 1)}, s.tab.rows[i]...)
		}
		if s.schema != "" {
			s.schema = n + ":INT," + s.schema
		}
		return true
	}},
	{"name-number", tabular, func(s *sample, rng *rand.Rand) bool {
		return renameHeader(s, "f2", []string{"123", "1.5", "1e3", "2024"}[rng.IntN(4)])
	}},
	{"name-odd-chars", tabular, func(s *sample, rng *rand.Rand) bool {
		return renameHeader(s, "f2", []string{"P08254|MMP3", "Körpergröße", "feature.1", "col`x", "a;b", "% share", "f-2"}[rng.IntN(7)])
	}},
	{"feature-named-label", isTask("tabular_regression", "time_to_event_prediction", "time_series_forecasting"), func(s *sample, _ *rand.Rand) bool {
		return renameHeader(s, "city", "label")
	}},
	{"feature-named-LABEL", isTask("tabular_classification"), func(s *sample, _ *rand.Rand) bool {
		return renameHeader(s, "label", "LABEL")
	}},
	{"schema-char2", tabular, func(s *sample, _ *rand.Rand) bool {
		s.schema = declaredSchema(s, map[string]string{"city": "CHAR(2)"})
		return true
	}},
	{"schema-varchar-wide", tabular, func(s *sample, _ *rand.Rand) bool {
		s.schema = declaredSchema(s, map[string]string{"city": "VARCHAR(16000)", "f2": "VARCHAR(2000)"})
		return true
	}},
	{"schema-int-floats", tabular, func(s *sample, _ *rand.Rand) bool {
		s.schema = declaredSchema(s, map[string]string{"f2": "INT"})
		return true
	}},
	{"schema-tinyint", tabular, func(s *sample, _ *rand.Rand) bool {
		s.schema = declaredSchema(s, map[string]string{"f1": "TINYINT"})
		return true
	}},
	{"schema-missing-column", tabular, func(s *sample, _ *rand.Rand) bool {
		s.schema = declaredSchema(s, map[string]string{"ghost": "INT"})
		return true
	}},
	{"schema-declared", tabular, func(s *sample, _ *rand.Rand) bool {
		s.schema = declaredSchema(s, nil)
		return true
	}},
	{"wide-table", tabular, func(s *sample, _ *rand.Rand) bool {
		for k := range 300 {
			addColumn(s, fmt.Sprintf("w%03d", k), func(i int) string { return strings.Repeat("v", 1+(i+k)%5) })
		}
		return true
	}},
}

// fixDays fills the %02d of every row's day cell.
func fixDays(s *sample) bool {
	s.tab.set("day", nil, func(i int, old string) string { return fmt.Sprintf(old, 1+i) })
	return true
}

// otherDateShapes write month m, day d otherwise than year first.
var otherDateShapes = []func(m, d int) string{
	func(m, d int) string { return fmt.Sprintf("%02d/%02d/2024", m, d) },
	func(m, d int) string { return fmt.Sprintf("%02d/%02d/2024", d, m) },
	func(m, d int) string { return fmt.Sprintf("%d/%d/2024", m, d) },
	func(m, d int) string { return fmt.Sprintf("%02d-%02d-2024", m, d) },
	func(m, d int) string { return fmt.Sprintf("%02d.%02d.2024", d, m) },
	func(m, d int) string { return fmt.Sprintf("2024.%02d.%02d", m, d) },
	func(m, d int) string { return fmt.Sprintf("2024%02d%02d", m, d) },
	func(m, d int) string { return fmt.Sprintf("%02d/%02d/2024 10:%02d", m, d, d) },
	func(m, d int) string { return fmt.Sprintf("%s %02d, 2024", monthAbbrev[m-1], d) },
	func(m, d int) string { return fmt.Sprintf("%d %s 2024", d, monthName[m-1]) },
	func(m, d int) string { return fmt.Sprintf("%02d-%s-2024", d, monthAbbrev[m-1]) },
	func(m, d int) string { return fmt.Sprintf("2024-%02d-%02d", m, d) },
	// A two-digit year or a name in lower case first: pandas guesses no
	// format and parses each value on its own.
	func(m, d int) string { return fmt.Sprintf("%02d/%02d/24", m, d) },
	func(m, d int) string { return fmt.Sprintf("%02d.%02d.24 10:%02d", d, m, d) },
	func(m, d int) string { return fmt.Sprintf("02/%02d/%02d", 27+d%4, m+20) },
	func(m, d int) string { return fmt.Sprintf("%s %02d, 2024", strings.ToLower(monthAbbrev[m-1]), d) },
}

// declaredSchema is a --schema for every column of s, with the types in
// over, guessed from the base dataset's columns otherwise.
func declaredSchema(s *sample, over map[string]string) string {
	var parts []string
	for _, h := range s.tab.header {
		t := "VARCHAR(64)"
		switch h {
		case "f1":
			t = "INT"
		case "f2", "target", "price", "time":
			t = "FLOAT"
		case "event":
			t = "INT"
		case "timestamp":
			t = "DATETIME"
		}
		if v, ok := over[h]; ok {
			t = v
			delete(over, h)
		}
		parts = append(parts, h+":"+t)
	}
	for h, t := range over {
		parts = append(parts, h+":"+t)
	}
	return strings.Join(parts, ",")
}

func imageTask(t string) bool { return family(t) == "image" }

// annotations returns the sample's VOC files.
func annotationKeys(s *sample) []string { return fileKeys(s, "annotations") }

// editVOC rewrites one annotation with edit.
func editVOC(s *sample, rng *rand.Rand, edit func(string) string) bool {
	ks := annotationKeys(s)
	if len(ks) == 0 {
		return false
	}
	k := ks[rng.IntN(len(ks))]
	s.files[k] = []byte(edit(string(s.files[k])))
	return true
}

var imageMutations = []mutation{
	{"image-corrupt", imageTask, func(s *sample, rng *rand.Rand) bool {
		ks := fileKeys(s, "images")
		k := ks[rng.IntN(len(ks))]
		s.files[k] = s.files[k][:len(s.files[k])/3]
		return true
	}},
	{"image-other-size", imageTask, func(s *sample, rng *rand.Rand) bool {
		ks := fileKeys(s, "images")
		k := ks[rng.IntN(len(ks))]
		b, _ := fixture.Image(imgW+4, imgH, k[strings.LastIndex(k, "."):], false, rng)
		s.files[k] = b
		return true
	}},
	{"image-other-ext", imageTask, func(s *sample, rng *rand.Rand) bool {
		ks := fileKeys(s, "images")
		k := ks[rng.IntN(len(ks))]
		ext := s.oracleOpts["extension"].(string)
		other := map[string]string{".jpg": ".png", ".jpeg": ".jpg", ".png": ".jpg"}[ext]
		b, _ := fixture.Image(imgW, imgH, other, false, rng)
		delete(s.files, k)
		nk := strings.TrimSuffix(k, ext) + other
		s.files[nk] = b
		s.tab.set("filename", nil, func(_ int, old string) string {
			if "images/"+old == k {
				return nk[len("images/"):]
			}
			return old
		})
		return true
	}},
	{"image-upper-ext", imageTask, func(s *sample, _ *rand.Rand) bool {
		ext := s.oracleOpts["extension"].(string)
		for _, k := range fileKeys(s, "images") {
			s.files[strings.TrimSuffix(k, ext)+strings.ToUpper(ext)] = s.files[k]
			delete(s.files, k)
		}
		s.tab.set("filename", nil, func(_ int, old string) string { return strings.Replace(old, ext, strings.ToUpper(ext), 1) })
		return true
	}},
	{"image-stray-file", imageTask, func(s *sample, _ *rand.Rand) bool {
		s.files["images/notes.txt"] = []byte("hello\n")
		return true
	}},
	{"target-size-other", imageTask, func(s *sample, _ *rand.Rand) bool {
		s.targetSize = []int{imgW * 2, imgH * 2}
		s.oracleOpts["target_size"] = s.targetSize
		return true
	}},
	// keypoints
	{"kp-count", isTask("keypoint_detection"), func(s *sample, rng *rand.Rand) bool {
		return setCell(s, "Annotation", row(s, rng), `{"p0": [1, 2], "p1": [3, 4]}`)
	}},
	{"kp-negative", isTask("keypoint_detection"), func(s *sample, rng *rand.Rand) bool {
		return setCell(s, "Annotation", row(s, rng), `{"p0": [-1, 2], "p1": [3, 4], "p2": [5, 6]}`)
	}},
	{"kp-outside", isTask("keypoint_detection"), func(s *sample, rng *rand.Rand) bool {
		return setCell(s, "Annotation", row(s, rng), `{"p0": [100, 2], "p1": [3, 4], "p2": [5, 6]}`)
	}},
	{"kp-float", isTask("keypoint_detection"), func(s *sample, rng *rand.Rand) bool {
		return setCell(s, "Annotation", row(s, rng), `{"p0": [1.5, 2.25], "p1": [3, 4], "p2": [5, 6]}`)
	}},
	{"kp-dict-form", isTask("keypoint_detection"), func(s *sample, rng *rand.Rand) bool {
		return setCell(s, "Annotation", row(s, rng), `{"p0": {"x": 1, "y": 2}, "p1": {"x": 3, "y": 4}, "p2": {"x": 5, "y": 6}}`)
	}},
	{"kp-same-point", isTask("keypoint_detection"), func(s *sample, rng *rand.Rand) bool {
		return setCell(s, "Annotation", row(s, rng), `{"p0": [1, 1], "p1": [1, 1], "p2": [1, 1]}`)
	}},
	{"kp-not-json", isTask("keypoint_detection"), func(s *sample, rng *rand.Rand) bool {
		return setCell(s, "Annotation", row(s, rng), `p0=1,2`)
	}},
	{"kp-visibility-2", isTask("keypoint_detection"), func(s *sample, rng *rand.Rand) bool {
		return setCell(s, "Visibility", row(s, rng), `{"p0": 2, "p1": 1, "p2": 0}`)
	}},
	{"kp-visibility-names", isTask("keypoint_detection"), func(s *sample, rng *rand.Rand) bool {
		return setCell(s, "Visibility", row(s, rng), `{"a": 1, "b": 1, "c": 0}`)
	}},
	{"kp-visibility-bool", isTask("keypoint_detection"), func(s *sample, rng *rand.Rand) bool {
		return setCell(s, "Visibility", row(s, rng), `{"p0": true, "p1": false, "p2": true}`)
	}},
	{"kp-empty", isTask("keypoint_detection"), func(s *sample, rng *rand.Rand) bool { return setCell(s, "Annotation", row(s, rng), "") }},
	{"kp-number-flag", isTask("keypoint_detection"), func(s *sample, _ *rand.Rand) bool {
		s.keypoints = 4
		s.oracleOpts["number_of_keypoints"] = 4
		return true
	}},
	{"kp-header-lower", isTask("keypoint_detection"), func(s *sample, _ *rand.Rand) bool {
		return renameHeader(s, "Annotation", "annotation")
	}},
	// masks
	{"mask-missing", isTask("semantic_segmentation"), func(s *sample, rng *rand.Rand) bool {
		ks := fileKeys(s, "masks")
		delete(s.files, ks[rng.IntN(len(ks))])
		return true
	}},
	{"mask-other-size", isTask("semantic_segmentation"), func(s *sample, rng *rand.Rand) bool {
		ks := fileKeys(s, "masks")
		m, _ := fixture.Mask(imgW-2, imgH, 1)
		s.files[ks[rng.IntN(len(ks))]] = m
		return true
	}},
	{"mask-id-empty", isTask("semantic_segmentation"), func(s *sample, rng *rand.Rand) bool { return setCell(s, "mask_id", row(s, rng), "") }},
	{"mask-id-na", isTask("semantic_segmentation"), func(s *sample, rng *rand.Rand) bool { return setCell(s, "mask_id", row(s, rng), "None") }},
	{"mask-id-header", isTask("semantic_segmentation"), func(s *sample, _ *rand.Rand) bool { return renameHeader(s, "mask_id", "Mask_ID") }},
	{"mask-extra", isTask("semantic_segmentation"), func(s *sample, _ *rand.Rand) bool {
		m, _ := fixture.Mask(imgW, imgH, 3)
		s.files["masks/orphan_mask.png"] = m
		return true
	}},
	{"mask-jpeg", isTask("semantic_segmentation"), func(s *sample, rng *rand.Rand) bool {
		ks := fileKeys(s, "masks")
		b, _ := fixture.Image(imgW, imgH, ".jpg", false, rng)
		s.files[ks[rng.IntN(len(ks))]] = b
		return true
	}},
	{"mask-corrupt", isTask("semantic_segmentation"), func(s *sample, rng *rand.Rand) bool {
		ks := fileKeys(s, "masks")
		k := ks[rng.IntN(len(ks))]
		s.files[k] = s.files[k][:20]
		return true
	}},
	// Pascal VOC
	{"od-no-labels-csv", isTask("object_detection"), func(s *sample, _ *rand.Rand) bool { s.tab = nil; return true }},
	{"voc-difficult-2", isTask("object_detection"), func(s *sample, rng *rand.Rand) bool {
		return editVOC(s, rng, func(x string) string { return strings.Replace(x, "<difficult>0", "<difficult>2", 1) })
	}},
	{"voc-truncated-text", isTask("object_detection"), func(s *sample, rng *rand.Rand) bool {
		return editVOC(s, rng, func(x string) string { return strings.Replace(x, "<truncated>0", "<truncated>no", 1) })
	}},
	{"voc-no-bndbox", isTask("object_detection"), func(s *sample, rng *rand.Rand) bool {
		return editVOC(s, rng, func(x string) string {
			a, b := strings.Index(x, "<bndbox>"), strings.Index(x, "</bndbox>")
			return x[:a] + x[b+len("</bndbox>"):]
		})
	}},
	{"voc-min-max", isTask("object_detection"), func(s *sample, rng *rand.Rand) bool {
		return editVOC(s, rng, func(x string) string { return strings.Replace(x, "<xmin>0", fmt.Sprintf("<xmin>%d", imgW), 1) })
	}},
	{"voc-float-box", isTask("object_detection"), func(s *sample, rng *rand.Rand) bool {
		return editVOC(s, rng, func(x string) string { return strings.Replace(x, "<xmin>0", "<xmin>0.5", 1) })
	}},
	{"voc-negative", isTask("object_detection"), func(s *sample, rng *rand.Rand) bool {
		return editVOC(s, rng, func(x string) string { return strings.Replace(x, "<ymin>0", "<ymin>-2", 1) })
	}},
	{"voc-outside", isTask("object_detection"), func(s *sample, rng *rand.Rand) bool {
		return editVOC(s, rng, func(x string) string {
			return strings.Replace(x, fmt.Sprintf("<xmax>%d", imgW), fmt.Sprintf("<xmax>%d", imgW*3), 1)
		})
	}},
	{"voc-no-object", isTask("object_detection"), func(s *sample, rng *rand.Rand) bool {
		return editVOC(s, rng, func(x string) string {
			a, b := strings.Index(x, "<object>"), strings.LastIndex(x, "</object>")
			return x[:a] + x[b+len("</object>"):]
		})
	}},
	{"voc-unparsable", isTask("object_detection"), func(s *sample, rng *rand.Rand) bool {
		return editVOC(s, rng, func(x string) string { return x[:len(x)/2] })
	}},
	{"voc-class-space", isTask("object_detection"), func(s *sample, rng *rand.Rand) bool {
		return editVOC(s, rng, func(x string) string { return strings.Replace(x, "<name>", "<name>traffic ", 1) })
	}},
	{"voc-class-colon", isTask("object_detection"), func(s *sample, rng *rand.Rand) bool {
		return editVOC(s, rng, func(x string) string { return strings.Replace(x, "<name>", "<name>a:", 1) })
	}},
	{"voc-class-padded", isTask("object_detection"), func(s *sample, rng *rand.Rand) bool {
		return editVOC(s, rng, func(x string) string { return strings.Replace(x, "<name>", "<name> ", 1) })
	}},
	{"voc-one-class", isTask("object_detection"), func(s *sample, _ *rand.Rand) bool {
		for _, k := range annotationKeys(s) {
			x := string(s.files[k])
			for _, c := range []string{"person", "sign"} {
				x = strings.ReplaceAll(x, "<name>"+c+"</name>", "<name>car</name>")
			}
			s.files[k] = []byte(x)
		}
		return true
	}},
	{"voc-missing", isTask("object_detection"), func(s *sample, rng *rand.Rand) bool {
		ks := annotationKeys(s)
		delete(s.files, ks[rng.IntN(len(ks))])
		return true
	}},
	{"voc-orphan", isTask("object_detection"), func(s *sample, _ *rand.Rand) bool {
		s.files["annotations/orphan.xml"] = fixture.VOC("orphan.jpg", imgW, imgH, []string{"car"})
		return true
	}},
	{"voc-upper-ext", isTask("object_detection"), func(s *sample, rng *rand.Rand) bool {
		ks := annotationKeys(s)
		k := ks[rng.IntN(len(ks))]
		s.files[strings.TrimSuffix(k, ".xml")+".XML"] = s.files[k]
		delete(s.files, k)
		return true
	}},
	{"voc-filename-differs", isTask("object_detection"), func(s *sample, rng *rand.Rand) bool {
		return editVOC(s, rng, func(x string) string { return strings.Replace(x, "<filename>", "<filename>other_", 1) })
	}},
	{"voc-no-size", isTask("object_detection"), func(s *sample, rng *rand.Rand) bool {
		return editVOC(s, rng, func(x string) string {
			a, b := strings.Index(x, "<size>"), strings.Index(x, "</size>")
			return x[:a] + x[b+len("</size>"):]
		})
	}},
	{"voc-long-cell", isTask("object_detection"), func(s *sample, rng *rand.Rand) bool {
		return editVOC(s, rng, func(x string) string {
			var b bytes.Buffer
			for k := range 30 {
				fmt.Fprintf(&b, "<object><name>class_number_%02d</name><pose>U</pose><truncated>0</truncated><difficult>0</difficult><bndbox><xmin>0</xmin><ymin>0</ymin><xmax>2</xmax><ymax>2</ymax></bndbox></object>", k)
			}
			return strings.Replace(x, "</annotation>", b.String()+"</annotation>", 1)
		})
	}},
}
