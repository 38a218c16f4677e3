package spec

import (
	"fmt"
	"strings"

	"github.com/tracebloc/kubectl-tracebloc/pkg/category"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// Flags are the push flags that make the ingest spec, as the user gave
// them. The sizes are read already: they need no task.
type Flags struct {
	Table       string
	Category    string
	Intent      string
	LabelColumn string
	// TargetSize and MinSize are [width, height], nil when not given.
	TargetSize        []int
	MinSize           []int
	NumberOfKeypoints int
	// Schema is --schema ("" infers it from the CSV).
	Schema string
	// LabelPolicy is --label-policy ("" is the task's default).
	LabelPolicy string
	// TimeColumn is --time-column, "" when it was not given.
	TimeColumn string
	// DataID is --data-id: uuid, content_hash or column:<name> ("" is the
	// ingestor's default).
	DataID string
}

// Parsed is what the flags of a push say, read once for its task.
type Parsed struct {
	// Task is the task --task names; its Name is "" when --task names none
	// (the schema then refuses the spec and the push lists the tasks).
	Task   category.Task
	Inputs Inputs
	// Declared is the --schema the user gave, nil to infer it from the CSV.
	Declared Schema
	// Warnings and Notes are for the user, in order, even when an error
	// follows them.
	Warnings []string
	Notes    []string
}

// ParseFlags reads the flags of a push for its task: the table name first,
// before any path is built from it, then --data-id and the tabular flags.
// A bad value exits 2 with the rule and the fix.
func ParseFlags(f Flags) (Parsed, error) {
	if err := ValidateTable(f.Table); err != nil {
		return Parsed{}, err
	}
	task, _ := category.Lookup(f.Category)
	p := Parsed{Task: task, Inputs: Inputs{Table: f.Table, Category: f.Category, Intent: f.Intent, LabelColumn: f.LabelColumn,
		TargetSize: f.TargetSize, MinSize: f.MinSize, NumberOfKeypoints: f.NumberOfKeypoints}}
	dataID, err := p.dataID(f.DataID)
	if err != nil {
		return p, err
	}
	p.Inputs.DataID = dataID
	err = p.tabular(f)
	return p, err
}

// dataID parses --data-id for the task. The ingestor reads column:<name>
// from the records of a CSV, so that strategy needs a task whose records
// come from one (labels.csv or the data CSV); uuid and content_hash apply
// to every task.
func (p *Parsed) dataID(v string) (*DataID, error) {
	d, err := ParseDataID(v)
	if err != nil || d.IDColumn() == "" || p.Task.Name == "" {
		return d, err
	}
	if k := p.Task.Manifest.Kind; k != category.ManifestLabelsCSV && k != category.ManifestDataCSV {
		return nil, exitcode.Errorf(exitcode.BadFlags, "--data-id %s does not apply to %s: its records do not come from a CSV, so no column can give their ids; use --data-id uuid or --data-id content_hash", v, p.Task.Name)
	}
	p.Warnings = append(p.Warnings, fmt.Sprintf("--data-id %s: the values of column %q leave the cluster as each record's id at the tracebloc backend; make sure they are not personal data (or use --data-id content_hash)", v, d.Column))
	return d, nil
}

// tabular parses the tabular flags: the label policy of the object form,
// the time column of time_to_event_prediction and the declared schema.
func (p *Parsed) tabular(f Flags) error {
	task := p.Task
	if task.Family != category.FamilyTabular {
		return nil
	}
	if err := p.fixedTimeColumn(f.TimeColumn); err != nil {
		return err
	}
	if task.Manifest.Label == category.LabelObject {
		policy := f.LabelPolicy
		if policy == "" {
			policy = task.Spec.LabelPolicy
		}
		if err := ValidatePolicy(policy); err != nil {
			return err
		}
		p.Inputs.LabelPolicy = policy
	}
	if task.AppliesFlag("time-column") {
		p.Inputs.TimeColumn = f.TimeColumn
		if p.Inputs.TimeColumn == "" {
			p.Inputs.TimeColumn = DefaultTimeColumn
		}
	}
	if f.Schema == "" {
		return nil
	}
	declared, err := ParseSchemaFor(f.Schema, f.LabelColumn, p.Inputs.DataID.IDColumn())
	if err != nil {
		return err
	}
	p.Declared, p.Inputs.Schema = declared, declared.Map()
	return nil
}

// fixedTimeColumn judges --time-column for a task whose time column the
// ingestor fixes (time_series_forecasting, time_series_classification:
// timestamp). It refuses any other column there, as the ingestor does,
// and notes that naming timestamp itself is redundant.
func (p *Parsed) fixedTimeColumn(given string) error {
	task := p.Task
	if given == "" || task.AppliesFlag("time-column") {
		return nil
	}
	fixed := ""
	if task.Ordering != nil {
		fixed = task.Ordering.Column
	}
	if fixed == "" {
		return exitcode.Errorf(exitcode.BadFlags, "--time-column does not apply to %s: it applies to %s", task.Name, strings.Join(category.TasksWithFlag("time-column"), ", "))
	}
	if !strings.EqualFold(strings.TrimSpace(given), fixed) {
		return exitcode.Errorf(exitcode.BadFlags, "--time-column %q is refused for %s: the ingestor fixes its time column as %q and refuses a spec that names another; rename the CSV's time column to %s and drop --time-column", given, task.Name, fixed, fixed)
	}
	p.Notes = append(p.Notes, fmt.Sprintf("--time-column %q is redundant for %s: its time column is always %q", given, task.Name, fixed))
	return nil
}
