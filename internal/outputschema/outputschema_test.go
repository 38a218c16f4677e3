package outputschema

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/schema"
)

var commands = []string{"push", "status", "cleanup", "runs", "logs", "verify", "version", "error"}

// TestDocsDescribeEveryField: docs/json-output.md names every field each
// schema declares, and every schema asks for schema_version and exit_code.
func TestDocsDescribeEveryField(t *testing.T) {
	docs, err := os.ReadFile(filepath.Join("..", "..", "docs", "json-output.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range commands {
		doc, err := schema.Output(c)
		if err != nil {
			t.Fatal(err)
		}
		var s struct {
			Properties map[string]json.RawMessage `json:"properties"`
			Required   []string                   `json:"required"`
		}
		if err := json.Unmarshal(doc, &s); err != nil {
			t.Fatalf("schema/%s.json: %v", c, err)
		}
		for name := range s.Properties {
			if !strings.Contains(string(docs), "`"+name+"`") {
				t.Errorf("schema/%s.json declares %q, which docs/json-output.md does not describe", c, name)
			}
		}
		for _, want := range []string{"schema_version", "exit_code"} {
			if !strings.Contains(strings.Join(s.Required, " "), want) {
				t.Errorf("schema/%s.json does not require %s", c, want)
			}
		}
	}
}

// TestCheckCatchesWhatTheContractForbids: null arrays, undeclared fields,
// a second object and a wrong type are each refused.
func TestCheckCatchesWhatTheContractForbids(t *testing.T) {
	good := `{"schema_version":1,"exit_code":0,"version":"dev"}`
	if _, err := Check("version", []byte(good+"\n")); err != nil {
		t.Fatalf("a valid object: %v", err)
	}
	for name, out := range map[string]string{
		"null":        `{"schema_version":1,"exit_code":0,"version":null}`,
		"undeclared":  `{"schema_version":1,"exit_code":0,"version":"dev","surprise":1}`,
		"two objects": good + "\n" + good,
		"wrong type":  `{"schema_version":1,"exit_code":"0","version":"dev"}`,
		"no version":  `{"exit_code":0,"version":"dev"}`,
		"not json":    `kubectl-tracebloc dev`,
	} {
		if _, err := Check("version", []byte(out)); err == nil {
			t.Errorf("%s: accepted %s", name, out)
		}
	}
}
