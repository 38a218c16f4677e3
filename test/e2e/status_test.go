//go:build e2e

package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/lock"
)

type statusReport struct {
	Release *struct {
		Name         string `json:"name"`
		ChartVersion string `json:"chart_version"`
	} `json:"release"`
	Tables []struct {
		Name  string `json:"table"`
		Task  string `json:"task"`
		Files int    `json:"files"`
		Bytes int64  `json:"bytes"`
	} `json:"tables"`
	ExitCode int `json:"exit_code"`
}

func statusOf(t *testing.T) (statusReport, result) {
	t.Helper()
	r := runPlugin(t, nil, "status", "-n", ns, "-o", "json")
	var s statusReport
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil || r.code != 0 {
		t.Fatalf("status: %v\n%s", err, r)
	}
	return s, r
}

func TestStatusBeforeAndAfterAPush(t *testing.T) {
	const table = "e2e_status"
	removeStaged(t, table)
	before, _ := statusOf(t)
	if before.Release == nil || before.Release.Name != "tracebloc" || before.Release.ChartVersion != "1.0.0" {
		t.Fatalf("status does not show the release: %+v", before)
	}
	for _, tb := range before.Tables {
		if tb.Name == table {
			t.Fatalf("table %s is staged before the push", table)
		}
	}
	dir := smallDataset(t)
	if r, _ := push(t, dir, table); r.code != 0 {
		t.Fatalf("push:\n%s", r)
	}
	after, _ := statusOf(t)
	var found bool
	for _, tb := range after.Tables {
		if tb.Name == table {
			found = true
			if tb.Files != 21 || tb.Bytes == 0 {
				t.Errorf("status of %s: %+v, want 21 files", table, tb)
			}
		}
	}
	if !found {
		t.Fatalf("status does not list %s after the push: %+v", table, after.Tables)
	}
	// The table's Lease now records the staged copy: --table completes it
	// from one list call, and cleanup does not take the record for a leftover.
	comp := runPlugin(t, nil, "__complete", "push", dir, "-n", ns, "--table", "e2e_sta")
	if comp.code != 0 || !strings.Contains(comp.stdout, table+"\t21 files, ") {
		t.Errorf("--table completion does not offer %s:\n%s", table, comp)
	}
	if none := runPlugin(t, nil, "__complete", "push", dir, "-n", ns, "--table", "zz"); strings.Contains(none.stdout, table) {
		t.Errorf("--table completion ignores the prefix:\n%s", none)
	}
	if dry := runPlugin(t, nil, "cleanup", "-n", ns, "--dry-run"); dry.code != 0 || strings.Contains(dry.stdout+dry.stderr, lock.LeaseName(table)) {
		t.Errorf("cleanup takes the record of %s for a leftover:\n%s", table, dry)
	}
	text := runPlugin(t, nil, "status", "-n", ns)
	for _, want := range []string{"Release:    tracebloc (chart 1.0.0", "Volume:     client-pvc, Bound", table} {
		if !strings.Contains(text.stdout, want) {
			t.Errorf("status text lacks %q:\n%s", want, text)
		}
	}
	assertNoStagePods(t, ns)
}
