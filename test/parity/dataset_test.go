package parity

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
)

// table is a CSV as rows of cells, written out by dialect: the generator
// mutates either the cells or the way they are written.
type table struct {
	header []string
	rows   [][]string
}

// col is the index of a header name, -1 when absent.
func (t *table) col(name string) int {
	for i, h := range t.header {
		if h == name {
			return i
		}
	}
	return -1
}

// set writes v into column name of every row that pick selects.
func (t *table) set(name string, pick func(i int) bool, v func(i int, old string) string) {
	c := t.col(name)
	if c < 0 {
		return
	}
	for i, r := range t.rows {
		if pick == nil || pick(i) {
			r[c] = v(i, r[c])
		}
	}
}

// dialect is how a table is written: line ends, byte order mark, quoting.
type dialect struct {
	eol       string
	bom       bool
	quoteAll  bool
	noLastEOL bool
}

func quoteCell(s string, all bool) string {
	if all || strings.ContainsAny(s, ",\"\r\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

func (t *table) render(d dialect) []byte {
	var b bytes.Buffer
	if d.bom {
		b.WriteString("\ufeff")
	}
	if d.eol == "" {
		d.eol = "\n"
	}
	lines := append([][]string{t.header}, t.rows...)
	for i, l := range lines {
		for j, c := range l {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(quoteCell(c, d.quoteAll))
		}
		if i < len(lines)-1 || !d.noLastEOL {
			b.WriteString(d.eol)
		}
	}
	return b.Bytes()
}

// sample is one generated dataset: its files, the push flags it is judged
// with and what the oracle is told beyond them.
type sample struct {
	name string
	task string
	// files maps a slash path under the dataset root to its bytes; csv is
	// the manifest (labels.csv, or the tabular CSV data.csv), written from
	// tab/dia unless raw is set.
	files   map[string][]byte
	csvName string
	tab     *table
	dia     dialect
	// raw edits the manifest's bytes after rendering.
	raw []func([]byte) []byte
	// flags
	labelColumn string
	labelSet    bool
	schema      string
	policy      string
	timeColumn  string
	targetSize  []int
	keypoints   int
	// oracleOpts are the image options the oracle's validators need.
	oracleOpts map[string]any
}

// write lays the sample out under dir.
func (s *sample) write(dir string) error {
	files := map[string][]byte{}
	for k, v := range s.files {
		files[k] = v
	}
	if s.tab != nil {
		b := s.tab.render(s.dia)
		for _, f := range s.raw {
			b = f(b)
		}
		files[s.csvName] = b
	}
	names := make([]string, 0, len(files))
	for k := range files {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		p := filepath.Join(dir, filepath.FromSlash(k))
		if strings.HasSuffix(k, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, files[k], 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Task families of the generator.
var (
	imageTasks = []string{"image_classification", "object_detection", "semantic_segmentation", "keypoint_detection"}
	textTasks  = []string{"text_classification", "token_classification", "sentence_pair_classification",
		"masked_language_modeling", "causal_language_modeling", "seq2seq", "embeddings"}
	tabularTasks = []string{"tabular_classification", "tabular_regression", "time_series_forecasting",
		"time_series_classification", "time_to_event_prediction"}
)

func family(task string) string {
	for _, t := range imageTasks {
		if t == task {
			return "image"
		}
	}
	for _, t := range textTasks {
		if t == task {
			return "text"
		}
	}
	return "tabular"
}

const imgW, imgH = 16, 12

// base is a valid dataset of task, varied by rng.
func base(task string, rng *rand.Rand) *sample {
	s := &sample{task: task, files: map[string][]byte{}, csvName: "labels.csv", labelColumn: "label", oracleOpts: map[string]any{}}
	switch family(task) {
	case "image":
		baseImage(s, rng)
	case "text":
		baseText(s, rng)
	default:
		baseTabular(s, rng)
	}
	return s
}

func baseImage(s *sample, rng *rand.Rand) {
	n := 4 + rng.IntN(3)
	ext := []string{".jpg", ".png", ".jpeg"}[rng.IntN(3)]
	s.oracleOpts["extension"] = ext
	s.oracleOpts["target_size"] = []int{imgW, imgH}
	s.tab = &table{header: []string{"filename", "label"}}
	switch s.task {
	case "semantic_segmentation":
		s.tab.header = append(s.tab.header, "mask_id")
	case "keypoint_detection":
		s.tab.header = append(s.tab.header, "Annotation", "Visibility")
		s.keypoints = 3
		s.targetSize = []int{imgW, imgH}
		s.oracleOpts["number_of_keypoints"] = 3
	case "object_detection":
		// A labels.csv that layout v4 ignores (it reads images/ and
		// annotations/ only) keeps the dataset valid for the plugin before
		// and after v4; the "no labels.csv" mutation is the v4 shape itself.
		s.tab.header = []string{"filename", "label"}
	}
	bare := rng.IntN(3) == 0
	for i := range n {
		stem := fmt.Sprintf("img_%03d", i)
		data, err := fixture.Image(imgW, imgH, ext, false, rng)
		if err != nil {
			panic(err)
		}
		s.files["images/"+stem+ext] = data
		name := stem + ext
		if bare {
			name = stem
		}
		row := []string{name, []string{"cat", "dog"}[i%2]}
		switch s.task {
		case "object_detection":
			row[1] = []string{"car", "person"}[i%2]
			classes := []string{[]string{"car", "person"}[i%2]}
			if i%3 == 0 {
				classes = append(classes, "sign")
			}
			s.files["annotations/"+stem+".xml"] = fixture.VOC(stem+ext, imgW, imgH, classes)
		case "semantic_segmentation":
			m, err := fixture.Mask(imgW, imgH, i)
			if err != nil {
				panic(err)
			}
			s.files["masks/"+stem+"_mask.png"] = m
			row = append(row, stem+"_mask.png")
		case "keypoint_detection":
			a, v := fixture.Keypoints(3, imgW, imgH, i)
			row = append(row, a, v)
		}
		s.tab.rows = append(s.tab.rows, row)
	}
}

func textDir(task string) string {
	if task == "masked_language_modeling" {
		return "sequences"
	}
	return "texts"
}

func supervisedText(task string) bool {
	return task == "text_classification" || task == "token_classification" || task == "sentence_pair_classification"
}

func baseText(s *sample, rng *rand.Rand) {
	n := 4 + rng.IntN(4)
	dir := textDir(s.task)
	s.tab = &table{header: []string{"filename"}}
	if supervisedText(s.task) {
		s.tab.header = append(s.tab.header, "label")
	}
	bare := rng.IntN(3) == 0
	for i := range n {
		stem := fmt.Sprintf("doc_%03d", i)
		var body, label string
		switch s.task {
		case "sentence_pair_classification":
			body, label = fixture.Sentence(rng, 4)+"\t"+fixture.Sentence(rng, 3), []string{"entailment", "contradiction"}[i%2]
		case "token_classification":
			body, label = fixture.Sentence(rng, 3), []string{"B-LOC I-LOC O", "O O B-PER"}[i%2]
		case "text_classification":
			body, label = fixture.Sentence(rng, 8), []string{"pos", "neg"}[i%2]
		case "embeddings":
			body = fixture.Sentence(rng, 3) + "\t" + fixture.Sentence(rng, 3)
		case "causal_language_modeling", "seq2seq":
			body = fixture.Sentence(rng, 4) + "\t" + fixture.Sentence(rng, 4)
		default:
			body = fixture.Sentence(rng, 12)
		}
		s.files[dir+"/"+stem+".txt"] = []byte(body + "\n")
		name := stem + ".txt"
		if bare {
			name = stem
		}
		row := []string{name}
		if supervisedText(s.task) {
			row = append(row, label)
		}
		s.tab.rows = append(s.tab.rows, row)
	}
	switch s.task {
	case "masked_language_modeling":
		s.files["tokenizer.json"] = fixture.Tokenizer("[PAD]", "[MASK]")
	case "text_classification", "token_classification":
		if rng.IntN(2) == 0 {
			s.files["tokenizer.json"] = fixture.Tokenizer("[PAD]")
		}
	}
}

func baseTabular(s *sample, rng *rand.Rand) {
	s.csvName = "data.csv"
	n := 8 + rng.IntN(8)
	h := []string{"f1", "f2", "city"}
	switch s.task {
	case "time_series_forecasting":
		// every feature of a forecast is numeric (the ingestor's
		// NumericColumnsValidator); tsf-text-feature adds a text one
		h = []string{"timestamp", "f1", "f2", "target"}
		s.labelColumn = "target"
	case "time_series_classification":
		h = append([]string{"sequence_id", "timestamp"}, append(h, "label")...)
	case "time_to_event_prediction":
		h = append(h, "time", "event")
		s.labelColumn = "event"
	case "tabular_regression":
		h = append(h, "price")
		s.labelColumn = "price"
	default:
		h = append(h, "label")
	}
	s.labelSet = s.labelColumn != "label"
	s.tab = &table{header: h}
	cities := []string{"Paris", "Lyon", "Berlin", "Oslo", "Rome, IT"}
	day := 1 + rng.IntN(20)
	for i := range n {
		var r []string
		ts := fmt.Sprintf("2024-03-%02d %02d:%02d:00", day, i/60, i%60)
		switch s.task {
		case "time_series_forecasting":
			r = append(r, ts)
		case "time_series_classification":
			r = append(r, fmt.Sprintf("s%d", i%3), fmt.Sprintf("2024-03-%02d %02d:00:00", day, i/3))
		}
		r = append(r, fmt.Sprint(rng.IntN(1000)), fmt.Sprintf("%.3f", rng.Float64()*10))
		if s.task != "time_series_forecasting" {
			r = append(r, cities[rng.IntN(len(cities))])
		}
		switch s.task {
		case "time_series_forecasting", "tabular_regression":
			r = append(r, fmt.Sprintf("%.2f", rng.Float64()*100))
		case "time_series_classification":
			r = append(r, []string{"walk", "run", "walk"}[i%3])
		case "time_to_event_prediction":
			r = append(r, fmt.Sprintf("%.1f", 1+rng.Float64()*300), fmt.Sprint(i%2))
		default:
			r = append(r, []string{"yes", "no"}[i%2])
		}
		s.tab.rows = append(s.tab.rows, r)
	}
	if s.task == "time_series_classification" {
		s.schema = "sequence_id:VARCHAR(32),timestamp:DATETIME,f1:INT,f2:FLOAT,city:VARCHAR(64),label:VARCHAR(16)"
	}
}
