//go:build linux

package cmd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tracebloc/kubectl-tracebloc/internal/outputschema"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/output"
	"github.com/tracebloc/kubectl-tracebloc/pkg/verify"
)

// put writes files (path → content) under dir.
func put(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(content), 0o644))
	}
}

func (w *world) verify(path, table, format string) *VerifyOptions {
	return &VerifyOptions{Streams: w.io, Output: output.Format(format), Path: path, Table: table, HelperPodOptions: w.helperPod()}
}

// runVerify runs o; with -o json it checks the object against the
// schema and its exit_code against the error, and returns the report.
func runVerify(t *testing.T, w *world, o *VerifyOptions) (*verify.Report, error) {
	t.Helper()
	w.out.Reset()
	must(t, o.Validate())
	must(t, o.Complete())
	err := o.Run(context.Background())
	if o.Output != output.JSON {
		return nil, err
	}
	obj, cerr := outputschema.Check("verify", w.out.Bytes())
	if cerr != nil {
		t.Fatal(cerr)
	}
	if got := fmt.Sprint(obj["exit_code"]); got != strconv.Itoa(exitcode.Of(err)) {
		t.Errorf("exit_code %s in the object, the command exits %d", got, exitcode.Of(err))
	}
	var r verify.Report
	must(t, json.Unmarshal(w.out.Bytes(), &r))
	return &r, err
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// TestVerifyComparesTheLocalDatasetWithItsStagedCopy: equal after a push;
// then each kind of difference, by name; a table never staged says so.
func TestVerifyComparesTheLocalDatasetWithItsStagedCopy(t *testing.T) {
	files := map[string]string{"labels.csv": "filename,label\na.png,cat\nb.png,dog\n", "images/a.png": "AAAA", "images/b.png": "BBBB"}
	w := newWorld(t, record("cats", "image_classification"))
	put(t, filepath.Join(w.volume, ".tracebloc-staging", "cats"), files)
	local := t.TempDir()
	put(t, local, files)
	// Leftovers and excluded files are not part of the dataset.
	put(t, local, map[string]string{"images/.DS_Store": "finder", "README.md": "not staged by push"})

	if _, err := runVerify(t, w, w.verify(local, "cats", "text")); err != nil {
		t.Fatalf("equal copies: %v\n%s", err, w.errOut)
	}
	if !strings.Contains(w.out.String(), "equal: the staged copy of cats holds the 3 files") {
		t.Errorf("text output:\n%s", w.out)
	}

	// Edit the local copy: one file removed, one added, one changed in
	// content at the same size.
	must(t, os.Remove(filepath.Join(local, "images", "b.png")))
	put(t, local, map[string]string{"images/c.png": "CCC", "images/a.png": "aaaa"})
	r, err := runVerify(t, w, w.verify(local, "cats", "json"))
	if exitcode.Of(err) != exitcode.Differs {
		t.Fatalf("after edits: %v, want exit %d", err, exitcode.Differs)
	}
	want := verify.Report{Missing: []verify.File{{Path: "images/c.png", Size: 3}}, Extra: []verify.File{{Path: "images/b.png", Size: 4}},
		Changed: []verify.Changed{{Path: "images/a.png", LocalSize: 4, StagedSize: 4, LocalSHA256: sha("aaaa"), StagedSHA256: sha("AAAA")}}}
	got := verify.Report{Missing: r.Missing, Extra: r.Extra, Changed: r.Changed}
	if diff := cmp.Diff(want, got); diff != "" || r.Equal || !r.Staged {
		t.Errorf("differences (-want +got):\n%s\nequal %v staged %v", diff, r.Equal, r.Staged)
	}

	// Never staged.
	r, err = runVerify(t, w, w.verify(local, "dogs", "json"))
	if exitcode.Of(err) != exitcode.Differs || !strings.Contains(err.Error(), "table dogs has no staged copy in namespace tb") || r.Staged {
		t.Errorf("a table never staged: %v, staged %v", err, r.Staged)
	}
}
