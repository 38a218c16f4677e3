// Package layering holds the import rules the packages keep: each engine
// owns one feature, shared machinery lives in packages of its own, and the
// command layer reaches the engines only. `go list` answers from the
// production code (tests may cross the lines to build fixtures).
package layering

import (
	"bytes"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const module = "github.com/tracebloc/kubectl-tracebloc/"

// rule forbids package from reaching any of forbidden: through its whole
// dependency tree (deep), or in its own imports only. A forbidden entry
// ending in / stands for every package under it but the rule's own.
type rule struct {
	pkg       string
	forbidden []string
	deep      bool
	why       string
}

var rules = []rule{
	{"pkg/push", []string{"pkg/status", "pkg/cleanup"}, true, "the engines share machinery through pkg/leftover, podexec and the others, never through each other"},
	{"pkg/status", []string{"pkg/push", "pkg/cleanup"}, true, "the engines share machinery through pkg/leftover, podexec and the others, never through each other"},
	{"pkg/cleanup", []string{"pkg/push", "pkg/status"}, true, "the engines share machinery through pkg/leftover, podexec and the others, never through each other"},
	{"pkg/verify", []string{"pkg/push", "pkg/status", "pkg/cleanup"}, true, "the engines share machinery through pkg/leftover, podexec and the others, never through each other"},
	{"pkg/lock", []string{"pkg/stagepod", "pkg/ingest"}, true, "the Lease knows its names from pkg/naming and keeps its own record; Pods and runs are above it"},
	{"pkg/transfer", []string{"pkg/dataset"}, true, "the stream sends files; what a dataset is, is decided above it"},
	{"pkg/cmd", []string{"pkg/transfer", "pkg/lock", "pkg/agent/proto"}, false, "the command layer wires flags to engines; the stream, the Lease and the wire protocol are theirs"},
	{"pkg/transfer/codec", []string{"pkg/transfer", "pkg/podexec", "pkg/stagepod", "pkg/dataset", "pkg/exitcode", "internal/"}, true, "the codec writes proto's chunk format; the stream that uses it is above it"},
	{"pkg/csvread", []string{"pkg/", "internal/"}, true, "the CSV dialect is a leaf every family reads with; it knows nothing of datasets"},
}

func TestImportRules(t *testing.T) {
	for _, r := range rules {
		t.Run(r.pkg, func(t *testing.T) {
			field := "{{join .Imports \"\\n\"}}"
			args := []string{"list", "-f", field, "./" + r.pkg}
			if r.deep {
				args = []string{"list", "-deps", "-f", "{{.ImportPath}}", "./" + r.pkg}
			}
			cmd := exec.Command(goTool(), args...)
			cmd.Dir = "../.."
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go %s: %v: %s", strings.Join(args, " "), err, stderr.String())
			}
			got := map[string]bool{}
			for _, p := range strings.Fields(string(out)) {
				if ours, ok := strings.CutPrefix(p, module); ok {
					got[ours] = true
				}
			}
			if !got[r.pkg] && r.deep {
				t.Fatalf("go list -deps ./%s does not list the package itself: the rule checks nothing", r.pkg)
			}
			how := "imports"
			if r.deep {
				how = "depends on"
			}
			for _, f := range r.forbidden {
				if !strings.HasSuffix(f, "/") {
					if got[f] {
						t.Errorf("%s %s %s: %s", path.Base(r.pkg), how, f, r.why)
					}
					continue
				}
				for p := range got {
					if strings.HasPrefix(p, f) && p != r.pkg {
						t.Errorf("%s %s %s: %s", path.Base(r.pkg), how, p, r.why)
					}
				}
			}
		})
	}
}

func goTool() string {
	return filepath.Join(runtime.GOROOT(), "bin", "go") //nolint:staticcheck // the go command of the toolchain running the test
}
