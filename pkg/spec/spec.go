package spec

import (
	"sigs.k8s.io/yaml"
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
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Category   string   `json:"category"`
	Table      string   `json:"table"`
	Intent     string   `json:"intent"`
	CSV        string   `json:"csv"`
	Images     string   `json:"images"`
	Label      string   `json:"label"`
	Spec       *Options `json:"spec,omitempty"`
}

// Options holds the advanced part of the spec.
type Options struct {
	FileOptions *FileOptions `json:"file_options,omitempty"`
}

// FileOptions describes the images: their one extension and their one size.
type FileOptions struct {
	Extension  string `json:"extension,omitempty"`
	TargetSize []int  `json:"target_size,omitempty"`
}

// Inputs are the flag values a spec is built from.
type Inputs struct {
	Table       string
	Category    string
	Intent      string
	LabelColumn string
}

// Build synthesizes the spec for in, pointing at the staged paths. The table
// name must already have passed ValidateTable.
func Build(in Inputs) Spec {
	dir := StagedDir(in.Table)
	return Spec{
		APIVersion: APIVersion,
		Kind:       Kind,
		Category:   in.Category,
		Table:      in.Table,
		Intent:     in.Intent,
		CSV:        dir + "/labels.csv",
		Images:     dir + "/images/",
		Label:      in.LabelColumn,
	}
}

// WithImages returns s with the images' extension and [width, height] set.
func (s Spec) WithImages(ext string, width, height int) Spec {
	s.Spec = &Options{FileOptions: &FileOptions{Extension: ext, TargetSize: []int{width, height}}}
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
