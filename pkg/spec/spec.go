package spec

import (
	"encoding/json"
	"maps"

	"sigs.k8s.io/yaml"

	"github.com/tracebloc/kubectl-tracebloc/pkg/category"
)

// Defaults of the push flags.
const (
	APIVersion      = "tracebloc.io/v1"
	Kind            = "IngestConfig"
	DefaultCategory = "image_classification"
	DefaultIntent   = "train"
	DefaultLabel    = "label"
)

// Spec is the ingest spec push submits with the staged data.
type Spec struct {
	APIVersion  string `json:"apiVersion"`
	Kind        string `json:"kind"`
	Category    string `json:"category"`
	Table       string `json:"table"`
	Intent      string `json:"intent"`
	CSV         string `json:"csv,omitempty"`
	Images      string `json:"images,omitempty"`
	Annotations string `json:"annotations,omitempty"`
	Masks       string `json:"masks,omitempty"`
	Texts       string `json:"texts,omitempty"`
	Sequences   string `json:"sequences,omitempty"`
	Label       *Label `json:"label,omitempty"`
	// Schema maps columns to SQL types.
	Schema            map[string]string `json:"schema,omitempty"`
	TimeColumn        string            `json:"time_column,omitempty"`
	TargetSize        []int             `json:"target_size,omitempty"`
	NumberOfKeypoints int               `json:"number_of_keypoints,omitempty"`
	DataID            *DataID           `json:"data_id,omitempty"`
	Spec              *Options          `json:"spec,omitempty"`
}

// Label is the label column, written as a plain string, or as the object
// {column, policy} when a policy is set.
type Label struct {
	Column string
	Policy string
}

// MarshalJSON writes the short form when no policy is set.
func (l Label) MarshalJSON() ([]byte, error) {
	if l.Policy == "" {
		return json.Marshal(l.Column)
	}
	return json.Marshal(struct {
		Column string `json:"column"`
		Policy string `json:"policy"`
	}{l.Column, l.Policy})
}

// UnmarshalJSON reads either form.
func (l *Label) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &l.Column); err == nil {
		l.Policy = ""
		return nil
	}
	var obj struct {
		Column string `json:"column"`
		Policy string `json:"policy"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return err
	}
	l.Column, l.Policy = obj.Column, obj.Policy
	return nil
}

// Options holds the advanced part of the spec.
type Options struct {
	FileOptions *FileOptions `json:"file_options,omitempty"`
}

// FileOptions describes the files: their one extension and, for images,
// their one size and the smallest size allowed.
type FileOptions struct {
	Extension  string `json:"extension,omitempty"`
	TargetSize []int  `json:"target_size,omitempty"`
	MinSize    []int  `json:"min_size,omitempty"`
}

// Inputs are the flag values a spec is built from.
type Inputs struct {
	Table       string
	Category    string
	Intent      string
	LabelColumn string
	// LabelPolicy overrides the task's default policy of the object form.
	LabelPolicy string
	// TargetSize and MinSize are [width, height], nil when not given.
	TargetSize        []int
	MinSize           []int
	NumberOfKeypoints int
	// Schema are columns declared by the user, added to the task's own.
	Schema     map[string]string
	TimeColumn string
	// DataID is the --data-id strategy; nil leaves the ingestor's default.
	DataID *DataID
}

// Build synthesizes the spec of task for in, pointing at the staged paths.
// A task without a manifest (object detection) gets no csv and no label:
// the ingestor refuses both for it.
// The table name must already have passed ValidateTable. A category that is
// no task (task.Name == "") still gives a spec, for the schema to refuse.
func Build(task category.Task, in Inputs) Spec {
	dir := StagedDir(in.Table)
	s := Spec{
		APIVersion:        APIVersion,
		Kind:              Kind,
		Category:          in.Category,
		Table:             in.Table,
		Intent:            in.Intent,
		NumberOfKeypoints: in.NumberOfKeypoints,
		TimeColumn:        in.TimeColumn,
		DataID:            in.DataID,
	}
	if task.Name == "" {
		// Unknown category: the layout of the original release, so that the
		// only complaint is the category.
		task.Primary = &category.Folder{Subdir: "images", SpecField: "images"}
		task.Manifest = category.Manifest{Kind: category.ManifestLabelsCSV, Label: category.LabelColumn}
	}
	if task.Manifest.Listed() {
		s.CSV = dir + "/labels.csv"
	}
	if task.Primary != nil {
		s.setFolder(task.Primary.SpecField, dir+"/"+task.Primary.Subdir+"/")
	}
	for _, sc := range task.Sidecars {
		s.setFolder(sc.SpecField, dir+"/"+sc.Subdir+"/")
	}
	switch task.Manifest.Label {
	case category.LabelColumn:
		s.Label = &Label{Column: in.LabelColumn, Policy: in.LabelPolicy}
	case category.LabelObject:
		policy := in.LabelPolicy
		if policy == "" {
			policy = task.Spec.LabelPolicy
		}
		s.Label = &Label{Column: in.LabelColumn, Policy: policy}
	}
	if len(task.Spec.Schema)+len(in.Schema) > 0 {
		s.Schema = map[string]string{}
		maps.Copy(s.Schema, in.Schema)
		maps.Copy(s.Schema, task.Spec.Schema)
	}
	if in.MinSize != nil {
		s.fileOptions().MinSize = in.MinSize
	}
	if in.TargetSize != nil {
		s = s.withTargetSize(task, in.TargetSize)
	}
	return s
}

func (s *Spec) setFolder(field, path string) {
	switch field {
	case "images":
		s.Images = path
	case "annotations":
		s.Annotations = path
	case "masks":
		s.Masks = path
	case "texts":
		s.Texts = path
	case "sequences":
		s.Sequences = path
	default:
		// tasks.json is ours and tested: every spec_field is one of the above.
		panic("unknown spec field " + field)
	}
}

func (s *Spec) fileOptions() *FileOptions {
	if s.Spec == nil {
		s.Spec = &Options{}
	}
	if s.Spec.FileOptions == nil {
		s.Spec.FileOptions = &FileOptions{}
	}
	return s.Spec.FileOptions
}

// withTargetSize puts size where the task reads it.
func (s Spec) withTargetSize(task category.Task, size []int) Spec {
	s = s.clone()
	for _, where := range task.Spec.TargetSize {
		switch where {
		case category.TargetSizeTopLevel:
			s.TargetSize = []int{size[0], size[1]}
		case category.TargetSizeFileOptions:
			s.fileOptions().TargetSize = []int{size[0], size[1]}
		}
	}
	return s
}

// clone copies the nested options so that a derived spec never changes the
// one it came from.
func (s Spec) clone() Spec {
	if s.Spec != nil {
		o := *s.Spec
		if o.FileOptions != nil {
			fo := *o.FileOptions
			o.FileOptions = &fo
		}
		s.Spec = &o
	}
	return s
}

// WithImages returns s with the images' extension and [width, height] set
// where task reads them.
func (s Spec) WithImages(task category.Task, ext string, width, height int) Spec {
	s = s.withTargetSize(task, []int{width, height})
	s.fileOptions().Extension = ext
	return s
}

// WithExtension returns s with the one extension of the primary files set.
func (s Spec) WithExtension(ext string) Spec {
	s = s.clone()
	s.fileOptions().Extension = ext
	return s
}

// YAML renders s the way a user would write it.
func (s Spec) YAML() string {
	b, err := yaml.Marshal(s)
	if err != nil {
		// Marshalling a struct of strings and ints cannot fail.
		panic(err)
	}
	return string(b)
}
