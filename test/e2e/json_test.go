//go:build e2e

package e2e

import (
	"strings"
	"testing"
)

// TestJSONContractOfEveryCommand: every command's -o json output, on a
// success and on a failure, is exactly one object that validates against
// its schema in schema/, echoes the exit code and holds no null (verify's
// are checked in verify_test.go).
func TestJSONContractOfEveryCommand(t *testing.T) {
	const table = "e2e_json_contract"
	forgetTable(t, table)
	dir := smallDataset(t)
	// One real ingestion run, for logs to attach to.
	var ran struct {
		Status string `json:"status"`
	}
	if r := runJSON(t, &ran, "push", dir, "--table", table, "-n", ns, "-o", "json"); r.code != 0 || ran.Status != "ingested" {
		t.Fatalf("push that ingests:\n%s", r)
	}
	const noNS = "e2e-no-tracebloc-here"
	tests := []struct {
		command string
		args    []string
		code    int
	}{
		{"push", []string{"push", dir, "--table", table + "_staged", "-n", ns, "-o", "json"}, 0},
		{"push", []string{"push", dir + "-missing", "--table", table, "-n", ns, "-o", "json"}, 3},
		{"status", []string{"status", "-n", ns, "-o", "json"}, 0},
		{"status", []string{"status", "-n", noNS, "-o", "json"}, 4},
		{"cleanup", []string{"cleanup", "--dry-run", "-n", ns, "-o", "json"}, 0},
		{"cleanup", []string{"cleanup", "-n", noNS, "-o", "json"}, 4},
		{"runs", []string{"runs", "-n", ns, "-o", "json"}, 0},
		{"runs", []string{"runs", "-n", ns, "-o", "json", "--context", "e2e-no-such-context"}, 3},
		{"logs", []string{"logs", table, "-n", ns, "--no-follow", "-o", "json"}, 0},
		{"logs", []string{"logs", "e2e_no_such_run", "-n", ns, "-o", "json"}, 2},
		{"version", []string{"version", "-o", "json"}, 0},
		{"version", []string{"version", "extra", "-o", "json"}, 2},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args[:1], " ")+"/"+map[bool]string{true: "success", false: "failure"}[tt.code == 0], func(t *testing.T) {
			if tt.command == "push" && tt.code == 0 {
				removeStaged(t, table+"_staged")
			}
			r := runPlugin(t, nil, tt.args...)
			checkJSON(t, tt.command, r, nil)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d:\n%s", r.code, tt.code, r)
			}
		})
	}
	assertNoStagePods(t, ns)
}
