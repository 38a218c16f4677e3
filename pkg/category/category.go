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
	// ManifestNone is a task without a manifest (object detection since
	// layout version 4): its records are enumerated from a sidecar folder.
	ManifestNone = "none"
)

// Label forms of a task's spec.
const (
	// LabelColumn is the string form: the label column's name.
	LabelColumn = "column"
	// LabelObject is the object form {column, policy}.
	LabelObject = "object"
	// LabelNone means the task is self-supervised: a label is refused.
	LabelNone = "none"
	// LabelAnnotations means each record's label comes from its annotation
	// file (object detection): no column holds it, a label is refused.
	LabelAnnotations = "annotations"
)

// Scopes of an ordering, as the layout contract names them.
const (
	// OrderDataset: the column never decreases over the whole file.
	OrderDataset = "dataset"
	// OrderPerGroup: the column never decreases within each group of the
	// task's grouping column.
	OrderPerGroup = "per_group"
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
	// Ordering is the column whose values may never decrease, and over
	// what; nil when row order does not matter.
	Ordering *Ordering `json:"ordering"`
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
	// Kind is ManifestLabelsCSV, ManifestDataCSV or ManifestNone.
	Kind string `json:"kind"`
	// FilenameColumn names each row's file in the primary folder; empty
	// when the manifest has none (tabular data).
	FilenameColumn string `json:"filename_column"`
	// Label is LabelColumn, LabelObject, LabelNone or LabelAnnotations.
	Label string `json:"label"`
	// MinLabelValues is how many distinct label values the task needs (0: no rule).
	MinLabelValues int `json:"min_label_values"`
	// Columns are fixed columns a content check reads, by role.
	Columns map[string]string `json:"columns"`
}

// HasLabel tells whether the task's rows carry a label column.
func (m Manifest) HasLabel() bool { return m.Label == LabelColumn || m.Label == LabelObject }

// Listed tells whether the dataset has a manifest CSV at all.
func (m Manifest) Listed() bool { return m.Kind != ManifestNone }

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

// Ordering names a column whose values may never decrease.
type Ordering struct {
	Column string `json:"column"`
	// Scope is OrderDataset or OrderPerGroup.
	Scope string `json:"scope"`
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

// SupportedLayoutVersions are the versions of the ingestor's layout
// contract this code has been checked against, rule by rule. Upstream bumps
// the version when a task gains or loses a key or a manifest kind, so code
// written for one version can misread the next: tasks.json at any other
// version refuses to load, and a stale re-vendor fails every test and build
// instead of shipping. Adding a version means re-reading the contract's
// change list first (see TestSupportedLayoutVersionsPinned).
var SupportedLayoutVersions = []string{"4"}

// CheckLayoutVersion refuses a layout contract version that is not exactly
// one of SupportedLayoutVersions ("4.0" and "v4" are not "4").
func CheckLayoutVersion(v string) error {
	if slices.Contains(SupportedLayoutVersions, v) {
		return nil
	}
	return fmt.Errorf("layout contract version %q is not supported: this build follows version %s; re-read the ingestor's layout change list and update the task descriptions before accepting it",
		v, strings.Join(SupportedLayoutVersions, ", "))
}

var all = mustParse(tasksDoc)

// parseCatalog reads a tasks document, refusing unknown keys and a layout
// version this code does not follow.
func parseCatalog(doc []byte) (catalog, error) {
	var c catalog
	dec := json.NewDecoder(strings.NewReader(string(doc)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return catalog{}, fmt.Errorf("tasks.json does not parse: %w", err)
	}
	if err := CheckLayoutVersion(c.LayoutVersion); err != nil {
		return catalog{}, fmt.Errorf("tasks.json: %w", err)
	}
	return c, nil
}

// mustParse fails the program's start on a bad embedded tasks.json: it is
// part of the build, so any test run catches it first.
func mustParse(doc []byte) catalog {
	c, err := parseCatalog(doc)
	if err != nil {
		panic("embedded " + err.Error())
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
