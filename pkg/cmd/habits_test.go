package cmd

import (
	"strings"
	"testing"

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
