// Package category describes each task the ingestor knows, as data shaped
// like its published layout contract: family, manifest, primary folder,
// sidecars and their link, record format, grouping, plus what the plugin
// needs on top (flags, spec placement, content checks). Every other package
// reads a task's description instead of switching on its name.
package category

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

//go:embed tasks.json
var tasksDoc []byte

// Families of tasks.
const (
	FamilyImage   = "image"
	FamilyText    = "text"
	FamilyTabular = "tabular"
)

// Manifest kinds, as the layout contract names them.
const (
	// ManifestLabelsCSV is labels.csv beside a primary folder of files.
	ManifestLabelsCSV = "labels_csv"
	// ManifestDataCSV is one CSV that is the data itself.
	ManifestDataCSV = "data_csv"
)

// Label forms of a task's spec.
const (
	// LabelColumn is the string form: the label column's name.
	LabelColumn = "column"
	// LabelObject is the object form {column, policy}.
	LabelObject = "object"
	// LabelNone means the task is self-supervised: a label is refused.
	LabelNone = "none"
)

// Where --target-size goes in the spec.
const (
	TargetSizeFileOptions = "file_options"
	TargetSizeTopLevel    = "top_level"
)

// Task is the description of one task.
type Task struct {
	Name         string        `json:"name"`
	Description  string        `json:"description"`
	Family       string        `json:"family"`
	Manifest     Manifest      `json:"manifest"`
	Primary      *Folder       `json:"primary"`
	Sidecars     []Sidecar     `json:"sidecars"`
	RecordFormat *RecordFormat `json:"record_format"`
	Grouping     *Grouping     `json:"grouping"`
	// Flags are the task-specific push flags that apply to the task.
	Flags []string `json:"flags"`
	// RequiredFlags must be given for the task.
	RequiredFlags []string  `json:"required_flags"`
	Spec          SpecRules `json:"spec"`
	// Checks name the content checks pkg/dataset runs, in order.
	Checks []string `json:"checks"`
}

// Manifest is the CSV that lists the dataset.
type Manifest struct {
	Kind string `json:"kind"`
	// FilenameColumn names each row's file in the primary folder; empty
	// when the manifest has none (tabular data).
	FilenameColumn string `json:"filename_column"`
	// Label is LabelColumn, LabelObject or LabelNone.
	Label string `json:"label"`
	// MinLabelValues is how many distinct label values the task needs (0: no rule).
	MinLabelValues int `json:"min_label_values"`
	// Columns are fixed columns a content check reads, by role.
	Columns map[string]string `json:"columns"`
}

// HasLabel tells whether the task's rows carry a label column.
func (m Manifest) HasLabel() bool { return m.Label == LabelColumn || m.Label == LabelObject }

// Folder is the folder of files the manifest's rows name.
type Folder struct {
	Subdir string `json:"subdir"`
	// SpecField is the spec key that points at the staged folder.
	SpecField  string   `json:"spec_field"`
	Extensions []string `json:"extensions"`
}

// Sidecar is a folder of files paired with the primary files by stem.
type Sidecar struct {
	Subdir    string `json:"subdir"`
	SpecField string `json:"spec_field"`
	// Glob is the layout contract's pattern of the folder's files.
	Glob string `json:"glob"`
	// Name is the file paired with a primary file; "{stem}" stands for the
	// primary file's name without its extension.
	Name string `json:"name"`
	// LinkColumn is a manifest column that must be populated on every row
	// (nil when pairing is by stem alone).
	LinkColumn *string `json:"link_column"`
	Required   bool    `json:"required"`
}

// For is the sidecar file name paired with a primary file of stem stem.
func (s Sidecar) For(stem string) string { return strings.ReplaceAll(s.Name, "{stem}", stem) }

// Stem returns the primary stem a sidecar file name pairs with, if the name
// has the sidecar's shape.
func (s Sidecar) Stem(name string) (string, bool) {
	prefix, suffix, _ := strings.Cut(s.Name, "{stem}")
	if len(name) <= len(prefix)+len(suffix) || !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, suffix) {
		return "", false
	}
	return name[len(prefix) : len(name)-len(suffix)], true
}

// Link is the link column's name, or "".
func (s Sidecar) Link() string {
	if s.LinkColumn == nil {
		return ""
	}
	return *s.LinkColumn
}

// RecordFormat is the shape of each text file of a text task.
type RecordFormat struct {
	Enforced  bool     `json:"enforced"`
	Fields    []string `json:"fields"`
	MinFields int      `json:"min_fields"`
	Separator string   `json:"separator"`
}

// Grouping says rows form groups (sequences) counted as one sample.
type Grouping struct {
	CountUnit   string `json:"count_unit"`
	GroupColumn string `json:"group_column"`
	TimeColumn  string `json:"time_column"`
}

// SpecRules say what the task adds to the ingest spec.
type SpecRules struct {
	// TargetSize lists where [width, height] goes: TargetSizeFileOptions
	// and/or TargetSizeTopLevel.
	TargetSize []string `json:"target_size"`
	// Schema holds columns the spec always declares.
	Schema map[string]string `json:"schema"`
	// RequiresSchema: the spec must carry a column schema.
	RequiresSchema bool `json:"requires_schema"`
	// LabelPolicy is the default policy of the object label form.
	LabelPolicy string `json:"label_policy"`
}

// AppliesFlag tells whether the task-specific flag applies to t.
func (t Task) AppliesFlag(flag string) bool { return slices.Contains(t.Flags, flag) }

// Folders are the dataset folders staged for t: the primary, then the sidecars.
func (t Task) Folders() []string {
	var out []string
	if t.Primary != nil {
		out = append(out, t.Primary.Subdir)
	}
	for _, s := range t.Sidecars {
		out = append(out, s.Subdir)
	}
	return out
}

// catalog is the parsed tasks.json.
type catalog struct {
	LayoutVersion string `json:"layout_version"`
	Tasks         []Task `json:"tasks"`
}

var all = mustParse(tasksDoc)

func mustParse(doc []byte) catalog {
	var c catalog
	dec := json.NewDecoder(strings.NewReader(string(doc)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		panic(fmt.Sprintf("embedded tasks.json does not parse: %v", err))
	}
	return c
}

// LayoutVersion is the version of the ingestor's layout contract the tasks follow.
func LayoutVersion() string { return all.LayoutVersion }

// All returns every task, in a fixed order (image, text, tabular).
func All() []Task { return slices.Clone(all.Tasks) }

// Names returns the name of every task.
func Names() []string {
	out := make([]string, len(all.Tasks))
	for i, t := range all.Tasks {
		out[i] = t.Name
	}
	return out
}

// Lookup returns the task called name.
func Lookup(name string) (Task, bool) {
	for _, t := range all.Tasks {
		if t.Name == name {
			return t, true
		}
	}
	return Task{}, false
}

// Flags returns every task-specific flag some task takes.
func Flags() []string {
	var out []string
	for _, t := range all.Tasks {
		for _, f := range t.Flags {
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	return out
}

// TasksWithFlag names the tasks flag applies to.
func TasksWithFlag(flag string) []string {
	var out []string
	for _, t := range all.Tasks {
		if t.AppliesFlag(flag) {
			out = append(out, t.Name)
		}
	}
	return out
}

// List renders every task with its description, one per line, for errors
// and help.
func List() string {
	var b strings.Builder
	for _, t := range all.Tasks {
		fmt.Fprintf(&b, "  %-29s %s\n", t.Name, t.Description)
	}
	return strings.TrimRight(b.String(), "\n")
}
