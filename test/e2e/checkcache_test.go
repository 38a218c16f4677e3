//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
)

// TestCheckCache: a second dry run of unchanged texts takes every verdict
// from the pre-flight's check cache (cached_checks); a same-size edit with
// the mtime put back that breaks a text is read again and refused.
func TestCheckCache(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "texts")
	if err := fixture.WriteText(dir, fixture.TextOptions{Task: "text_classification", Files: 200}); err != nil {
		t.Fatal(err)
	}
	// Files written within 3 s of a check are not cached.
	time.Sleep(3500 * time.Millisecond)
	env := []string{"TRACEBLOC_CACHE_DIR=" + t.TempDir()}
	dryRun := func(what string) (result, int) {
		t.Helper()
		r := runPlugin(t, env, "push", dir, "--table", "e2e_check_cache", "-n", ns, "--task", "text_classification", "--dry-run", "-o", "json")
		var out struct {
			CachedChecks int `json:"cached_checks"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
			t.Fatalf("%s: %v\n%s", what, err, r)
		}
		return r, out.CachedChecks
	}
	if r, n := dryRun("first dry run"); r.code != 0 || n != 0 {
		t.Fatalf("first dry run: exit %d, %d checks from the cache; want 0, 0\n%s", r.code, n, r)
	}
	if r, n := dryRun("second dry run"); r.code != 0 || n != 200 {
		t.Fatalf("unchanged: exit %d, %d checks from the cache; want 0, 200\n%s", r.code, n, r)
	}
	entries, err := os.ReadDir(filepath.Join(dir, "texts"))
	if err != nil || len(entries) == 0 {
		t.Fatal(err)
	}
	name := entries[0].Name()
	path := filepath.Join(dir, "texts", name)
	editKeepingMtime(t, path, func(b []byte) []byte { b[0] = 0xff; return b })
	r, n := dryRun("after the edit")
	if want := "texts/" + name + " line 1 is not valid UTF-8"; r.code != 3 || !strings.Contains(r.stdout+r.stderr, want) {
		t.Errorf("after a same-size edit with the mtime put back: exit %d, want 3 naming %q\n%s", r.code, want, r)
	}
	if n != 0 {
		t.Errorf("a refused dry run reports %d checks from the cache", n)
	}
}
