package category

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tracebloc/kubectl-tracebloc/internal/contracttest"
)

// TestSupportedLayoutVersionsPinned fails on any change of the supported
// set, so that whoever bumps it is told what to read first.
func TestSupportedLayoutVersionsPinned(t *testing.T) {
	if diff := cmp.Diff([]string{"4"}, SupportedLayoutVersions); diff != "" {
		t.Fatalf("the supported layout contract versions changed (-checked +now):\n%s\n"+
			"before accepting a new version, re-read the ingestor's change list for it (../shared/contracts/CHANGES.md, "+
			"../shared/design/UPSTREAM-V4.md rules 1-13), update tasks.json, parseLayout's key sets and every reader of "+
			"manifest/ordering/grouping, then update this test", diff)
	}
	if err := CheckLayoutVersion(LayoutVersion()); err != nil {
		t.Errorf("tasks.json: %v", err)
	}
}

func TestCheckLayoutVersion(t *testing.T) {
	for _, v := range []string{"5", "", "4.0", "v4", " 4", "4 ", "3", "2", "04"} {
		if err := CheckLayoutVersion(v); err == nil || !strings.Contains(err.Error(), "re-read") {
			t.Errorf("CheckLayoutVersion(%q) = %v, want a refusal saying what to re-read", v, err)
		}
	}
	if err := CheckLayoutVersion("4"); err != nil {
		t.Errorf("CheckLayoutVersion(\"4\") = %v, want accepted", err)
	}
}

// TestLoaderAppliesVersionCheck: tasks.json at another version does not
// load, and the embedded one does.
func TestLoaderAppliesVersionCheck(t *testing.T) {
	if _, err := parseCatalog(tasksDoc); err != nil {
		t.Fatalf("the embedded tasks.json: %v", err)
	}
	for _, v := range []string{"5", "", "4.0", "v4"} {
		doc := strings.Replace(string(tasksDoc), `"layout_version": "4"`, `"layout_version": "`+v+`"`, 1)
		if doc == string(tasksDoc) {
			t.Fatal("tasks.json does not hold the layout version where the test expects it")
		}
		if _, err := parseCatalog([]byte(doc)); err == nil || !strings.Contains(err.Error(), "not supported") {
			t.Errorf("tasks.json at version %q: %v, want refused", v, err)
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("mustParse of tasks.json at version %q did not stop the program", v)
				}
			}()
			mustParse([]byte(doc))
		}()
	}
}

// miniLayout is a contract of one task, object_detection, with manifest
// written as given ("" leaves the key out).
func miniLayout(version, manifest string) []byte {
	m := ""
	if manifest != "" {
		m = `"manifest": ` + manifest + `,`
	}
	return []byte(`{"version": "` + version + `", "tasks": {"object_detection": {
		"family": "image", "grouping": null, ` + m + ` "ordering": null, "primary_subdir": "images",
		"record_format": null, "sidecars": [{"glob": "*.xml", "link_column": null, "required": true, "subdir": "annotations"}]}}}`)
}

func TestParseLayoutManifest(t *testing.T) {
	none := `{"has_label_column": false, "kind": "none", "requires_filename_column": false}`
	want := LayoutManifest{Kind: ManifestNone}
	for _, m := range []string{none, "null", " null "} {
		l, err := parseLayout(miniLayout("4", m))
		if err != nil {
			t.Fatalf("manifest %s: %v", m, err)
		}
		if got := l.Tasks["object_detection"].Manifest; got != want {
			t.Errorf("manifest %s reads as %+v, want %+v", m, got, want)
		}
	}
	csv := `{"has_label_column": true, "kind": "labels_csv", "requires_filename_column": true}`
	l, err := parseLayout(miniLayout("4", csv))
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Tasks["object_detection"].Manifest; got != (LayoutManifest{Kind: ManifestLabelsCSV, HasLabelColumn: true, RequiresFilenameColumn: true}) {
		t.Errorf("labels_csv manifest reads as %+v", got)
	}
	for name, m := range map[string]string{
		"missing key":       "",
		"empty object":      `{}`,
		"unknown kind":      `{"has_label_column": false, "kind": "xml", "requires_filename_column": false}`,
		"empty kind":        `{"has_label_column": false, "kind": "", "requires_filename_column": false}`,
		"kind missing":      `{"has_label_column": false, "requires_filename_column": false}`,
		"extra key":         `{"has_label_column": false, "kind": "none", "requires_filename_column": false, "glob": "*"}`,
		"none with a label": `{"has_label_column": true, "kind": "none", "requires_filename_column": false}`,
		"a string":          `"none"`,
	} {
		if _, err := parseLayout(miniLayout("4", m)); err == nil || !strings.Contains(err.Error(), "unknown shape") {
			t.Errorf("%s: parseLayout = %v, want an unknown shape", name, err)
		}
	}
}

func TestParseLayoutRefusesOtherVersions(t *testing.T) {
	for _, v := range []string{"5", "3", "2", "", "4.0", "v4"} {
		if _, err := parseLayout(miniLayout(v, "null")); err == nil || !strings.Contains(err.Error(), "not supported") {
			t.Errorf("version %q: parseLayout = %v, want refused", v, err)
		}
	}
}

func TestParseLayoutKeySets(t *testing.T) {
	base := string(miniLayout("4", "null"))
	for name, doc := range map[string]string{
		"ordering missing":  strings.Replace(base, `"ordering": null,`, ``, 1),
		"extra task key":    strings.Replace(base, `"family": "image",`, `"family": "image", "labels": null,`, 1),
		"ordering scope":    strings.Replace(base, `"ordering": null`, `"ordering": {"column": "t", "scope": "window"}`, 1),
		"ordering keys":     strings.Replace(base, `"ordering": null`, `"ordering": {"column": "t"}`, 1),
		"sidecar key":       strings.Replace(base, `"subdir": "annotations"`, `"subdir": "annotations", "name": "{stem}.xml"`, 1),
		"top-level key":     strings.Replace(base, `"version": "4",`, `"version": "4", "generated": "x",`, 1),
		"sidecars not list": strings.Replace(base, `"sidecars": [`, `"sidecars": null, "x": [`, 1),
	} {
		if doc == base {
			t.Fatalf("%s: the edit did not apply", name)
		}
		if _, err := parseLayout([]byte(doc)); err == nil {
			t.Errorf("%s: parseLayout accepted it", name)
		}
	}
}

// TestParseLayoutPublished reads the published v4 contract, its rejected
// null spelling (identical once read) and the v2 contract (refused).
func TestParseLayoutPublished(t *testing.T) {
	v4, err := parseLayout(contracttest.Read(t, "layout.v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	od := v4.Tasks["object_detection"]
	if od.Manifest != (LayoutManifest{Kind: ManifestNone}) {
		t.Errorf("object_detection manifest %+v, want kind none", od.Manifest)
	}
	if o := v4.Tasks["time_series_forecasting"].Ordering; o == nil || *o != (Ordering{Column: "timestamp", Scope: OrderDataset}) {
		t.Errorf("time_series_forecasting ordering %+v", o)
	}
	if o := v4.Tasks["time_series_classification"].Ordering; o == nil || *o != (Ordering{Column: "timestamp", Scope: OrderPerGroup}) {
		t.Errorf("time_series_classification ordering %+v", o)
	}
	if o := v4.Tasks["time_to_event_prediction"].Ordering; o != nil {
		t.Errorf("time_to_event_prediction ordering %+v, want none", o)
	}
	null, err := parseLayout(contracttest.Read(t, "layout.v1.v4-null-6f09263.json"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(v4, null); diff != "" {
		t.Errorf("manifest null reads differently from {kind: none} (-v4 +null):\n%s", diff)
	}
	if _, err := parseLayout(contracttest.Read(t, "layout.v1.v2.json")); err == nil || !strings.Contains(err.Error(), `"2" is not supported`) {
		t.Errorf("the v2 contract: %v, want its version refused", err)
	}
	// The same v4 file without object_detection's manifest key.
	var raw map[string]any
	if err := json.Unmarshal(contracttest.Read(t, "layout.v1.json"), &raw); err != nil {
		t.Fatal(err)
	}
	delete(raw["tasks"].(map[string]any)["object_detection"].(map[string]any), "manifest")
	doc, _ := json.Marshal(raw)
	if _, err := parseLayout(doc); err == nil || !strings.Contains(err.Error(), "object_detection") || !strings.Contains(err.Error(), "manifest") {
		t.Errorf("a task without a manifest key: %v, want an unknown shape naming it", err)
	}
}

// TestOrderingIsConsistent: a per-group ordering needs the task's grouping
// column, a dataset ordering has no groups.
func TestOrderingIsConsistent(t *testing.T) {
	for _, task := range All() {
		o := task.Ordering
		switch {
		case o == nil:
		case o.Scope == OrderPerGroup && task.Grouping == nil:
			t.Errorf("%s: per-group ordering without a grouping", task.Name)
		case o.Scope == OrderDataset && task.Grouping != nil:
			t.Errorf("%s: dataset ordering on a grouped task", task.Name)
		case o.Column == "":
			t.Errorf("%s: ordering without a column", task.Name)
		}
	}
}
