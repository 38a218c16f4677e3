package category

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Layout is the ingestor's published layout contract (layout.v1.json), read
// by parseLayout. The contract tests compare it with tasks.json; it is
// never embedded.
type Layout struct {
	Version string
	Tasks   map[string]LayoutTask
}

// LayoutTask is one task of the published layout contract.
type LayoutTask struct {
	Family        string
	Grouping      *Grouping
	Manifest      LayoutManifest
	Ordering      *Ordering
	PrimarySubdir *string
	RecordFormat  *RecordFormat
	Sidecars      []LayoutSidecar
}

// LayoutManifest is a task's manifest as the contract states it. A manifest
// published as null reads as Kind ManifestNone, like {"kind": "none"}.
type LayoutManifest struct {
	Kind                   string
	HasLabelColumn         bool
	RequiresFilenameColumn bool
}

// LayoutSidecar is a sidecar folder as the contract states it.
type LayoutSidecar struct {
	Subdir     string
	Glob       string
	LinkColumn *string
	Required   bool
}

// The key sets of the contract. Upstream bumps the version when one of
// them changes, so a key added or missing at a supported version is a
// shape this code does not know.
var (
	layoutTaskKeys     = []string{"family", "grouping", "manifest", "ordering", "primary_subdir", "record_format", "sidecars"}
	layoutManifestKeys = []string{"has_label_column", "kind", "requires_filename_column"}
	layoutOrderingKeys = []string{"column", "scope"}
	layoutGroupingKeys = []string{"count_unit", "group_column", "time_column"}
	layoutFormatKeys   = []string{"enforced", "fields", "min_fields", "separator"}
	layoutSidecarKeys  = []string{"glob", "link_column", "required", "subdir"}
	manifestKinds      = []string{ManifestLabelsCSV, ManifestDataCSV, ManifestNone}
	orderingScopes     = []string{OrderDataset, OrderPerGroup}
)

// parseLayout reads a published layout contract fail-closed: a version
// outside SupportedLayoutVersions, and any task whose keys are not exactly
// the contract's, are errors. A manifest of null and one of kind "none"
// read alike; a task without a manifest key is an unknown shape, never a
// task that has a manifest.
func parseLayout(doc []byte) (Layout, error) {
	top, err := exactKeys(doc, "the layout contract", "tasks", "version")
	if err != nil {
		return Layout{}, err
	}
	var l Layout
	if err := json.Unmarshal(top["version"], &l.Version); err != nil {
		return Layout{}, fmt.Errorf("the layout contract's version is not a string: %w", err)
	}
	if err := CheckLayoutVersion(l.Version); err != nil {
		return Layout{}, err
	}
	var tasks map[string]json.RawMessage
	if err := json.Unmarshal(top["tasks"], &tasks); err != nil || tasks == nil {
		return Layout{}, fmt.Errorf("the layout contract's tasks are not an object of tasks")
	}
	l.Tasks = make(map[string]LayoutTask, len(tasks))
	for name, raw := range tasks {
		t, err := parseLayoutTask(raw)
		if err != nil {
			return Layout{}, fmt.Errorf("layout contract task %s: %w", name, err)
		}
		l.Tasks[name] = t
	}
	return l, nil
}

func parseLayoutTask(raw json.RawMessage) (LayoutTask, error) {
	keys, err := exactKeys(raw, "the task", layoutTaskKeys...)
	if err != nil {
		return LayoutTask{}, err
	}
	var t LayoutTask
	if err := json.Unmarshal(keys["family"], &t.Family); err != nil {
		return LayoutTask{}, fmt.Errorf("family: %w", err)
	}
	if err := json.Unmarshal(keys["primary_subdir"], &t.PrimarySubdir); err != nil {
		return LayoutTask{}, fmt.Errorf("primary_subdir: %w", err)
	}
	if t.Manifest, err = parseLayoutManifest(keys["manifest"]); err != nil {
		return LayoutTask{}, err
	}
	if !isNull(keys["ordering"]) {
		t.Ordering = &Ordering{}
		if err := decodeExact(keys["ordering"], "ordering", t.Ordering, layoutOrderingKeys); err != nil {
			return LayoutTask{}, err
		}
		if !slices.Contains(orderingScopes, t.Ordering.Scope) {
			return LayoutTask{}, fmt.Errorf("ordering scope %q is not one of %s: an unknown shape", t.Ordering.Scope, strings.Join(orderingScopes, ", "))
		}
	}
	if !isNull(keys["grouping"]) {
		t.Grouping = &Grouping{}
		if err := decodeExact(keys["grouping"], "grouping", t.Grouping, layoutGroupingKeys); err != nil {
			return LayoutTask{}, err
		}
	}
	if !isNull(keys["record_format"]) {
		t.RecordFormat = &RecordFormat{}
		if err := decodeExact(keys["record_format"], "record_format", t.RecordFormat, layoutFormatKeys); err != nil {
			return LayoutTask{}, err
		}
	}
	var sidecars []json.RawMessage
	if err := json.Unmarshal(keys["sidecars"], &sidecars); err != nil || sidecars == nil {
		return LayoutTask{}, fmt.Errorf("sidecars is not a list: an unknown shape")
	}
	for i, raw := range sidecars {
		var s struct {
			Glob       string  `json:"glob"`
			LinkColumn *string `json:"link_column"`
			Required   bool    `json:"required"`
			Subdir     string  `json:"subdir"`
		}
		if err := decodeExact(raw, fmt.Sprintf("sidecar %d", i+1), &s, layoutSidecarKeys); err != nil {
			return LayoutTask{}, err
		}
		t.Sidecars = append(t.Sidecars, LayoutSidecar{Subdir: s.Subdir, Glob: s.Glob, LinkColumn: s.LinkColumn, Required: s.Required})
	}
	return t, nil
}

// parseLayoutManifest reads null as the kind "none". Decoding null into a
// struct would give an empty kind, which reads as "has a manifest".
func parseLayoutManifest(raw json.RawMessage) (LayoutManifest, error) {
	if isNull(raw) {
		return LayoutManifest{Kind: ManifestNone}, nil
	}
	var m struct {
		HasLabelColumn         bool   `json:"has_label_column"`
		Kind                   string `json:"kind"`
		RequiresFilenameColumn bool   `json:"requires_filename_column"`
	}
	if err := decodeExact(raw, "manifest", &m, layoutManifestKeys); err != nil {
		return LayoutManifest{}, err
	}
	if !slices.Contains(manifestKinds, m.Kind) {
		return LayoutManifest{}, fmt.Errorf("manifest kind %q is not one of %s: an unknown shape", m.Kind, strings.Join(manifestKinds, ", "))
	}
	if m.Kind == ManifestNone && (m.HasLabelColumn || m.RequiresFilenameColumn) {
		return LayoutManifest{}, fmt.Errorf("manifest kind none with a label or filename column: an unknown shape")
	}
	return LayoutManifest{Kind: m.Kind, HasLabelColumn: m.HasLabelColumn, RequiresFilenameColumn: m.RequiresFilenameColumn}, nil
}

// exactKeys decodes an object and refuses it unless its keys are exactly
// keys: a missing key is as unknown a shape as an extra one.
func exactKeys(raw json.RawMessage, what string, keys ...string) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, fmt.Errorf("%s is not an object: an unknown shape", what)
	}
	var missing, extra []string
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			missing = append(missing, k)
		}
	}
	for k := range m {
		if !slices.Contains(keys, k) {
			extra = append(extra, k)
		}
	}
	if len(missing)+len(extra) > 0 {
		sort.Strings(extra)
		return nil, fmt.Errorf("%s has an unknown shape: missing keys [%s], unknown keys [%s]; the contract's keys are %s",
			what, strings.Join(missing, " "), strings.Join(extra, " "), strings.Join(keys, ", "))
	}
	return m, nil
}

// decodeExact decodes raw into v after checking its key set.
func decodeExact(raw json.RawMessage, what string, v any, keys []string) error {
	if _, err := exactKeys(raw, what, keys...); err != nil {
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }
