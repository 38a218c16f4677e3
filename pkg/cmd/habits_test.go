package cmd

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/category"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// TestBWLimitAndExcludeFlags: a rate that does not parse, and a pattern that
// is not one, exit 2 with an example, before any file is read.
func TestBWLimitAndExcludeFlags(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--bwlimit", "fast"}, "--bwlimit 20M (20 MB/s)"},
		{[]string{"--bwlimit", "100Mb"}, "is ambiguous: write 100Mbit for bits or 100MB for bytes"},
		{[]string{"--bwlimit", "0"}, "leave the flag out for no cap"},
		{[]string{"--exclude", "raw/[a-"}, "--exclude 'raw/' or --exclude '**/*.bak'"},
	} {
		_, _, err := execute(append([]string{"push", dir, "--table", "t", "--dry-run"}, c.args...)...)
		if exitcode.Of(err) != exitcode.BadFlags || err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v (exit %d), want exit 2 saying %q", c.args, err, exitcode.Of(err), c.want)
		}
	}
}

// TestHelpNamesEveryTaskAndTheTaskFlag: the root help describes the 16
// tasks, not only image classification, and --task is the flag help and
// completion show (--category still works, hidden).
func TestHelpNamesEveryTaskAndTheTaskFlag(t *testing.T) {
	root, _, err := execute("--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range category.Names() {
		if !strings.Contains(root, "\n  "+name+" ") {
			t.Errorf("root help does not describe %s", name)
		}
	}
	if len(category.Names()) != 16 {
		t.Errorf("%d tasks, the help says 16", len(category.Names()))
	}
	help, _, err := execute("push", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--task string", "--exclude stringArray", "--bwlimit string", "no labels.csv", "text tasks", "tabular tasks"} {
		if !strings.Contains(help, want) {
			t.Errorf("push --help lacks %q", want)
		}
	}
	if strings.Contains(help, "--category") {
		t.Errorf("push --help shows --category, the hidden old name")
	}
	flags, _, err := execute("__complete", "push", "x", "--")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(flags, "--task\t") || strings.Contains(flags, "--category") {
		t.Errorf("flag completion offers:\n%s", flags)
	}
}

// TestJSONOnRefusedFlags: with -o json, a flag refused before the push
// begins still prints exactly one JSON object on stdout, failed, with the
// process's exit code (2), as docs/json-output.md promises for every failure.
func TestJSONOnRefusedFlags(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"--bwlimit", "0"},
		{"--max-size", "-1"},
		{"--retries", "-1"},
		{"--exclude", "raw/[a-"},
		{"--task", "object_detection", "--label-column", "species"},
		{"--number-of-keypoints", "3"},
	} {
		out, _, err := execute(append([]string{"push", dir, "--table", "t", "--dry-run", "-o", "json"}, args...)...)
		if exitcode.Of(err) != exitcode.BadFlags {
			t.Errorf("%v: exit %d (%v), want 2", args, exitcode.Of(err), err)
			continue
		}
		dec := json.NewDecoder(strings.NewReader(out))
		var got struct {
			Status   string `json:"status"`
			Error    string `json:"error"`
			ExitCode *int   `json:"exit_code"`
		}
		if derr := dec.Decode(&got); derr != nil {
			t.Errorf("%v: stdout %q is not a JSON object: %v", args, out, derr)
			continue
		}
		if dec.More() {
			t.Errorf("%v: stdout holds more than one JSON value: %q", args, out)
		}
		if got.Status != "failed" || got.ExitCode == nil || *got.ExitCode != exitcode.BadFlags || got.Error != err.Error() {
			t.Errorf("%v: JSON %+v, want status failed, exit_code 2 and the error %q", args, got, err)
		}
	}
}
