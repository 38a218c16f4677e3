package spec

import (
	"path"
	"testing"
)

// FuzzValidateTable: no name the rule accepts may build a path outside the
// staging folder.
func FuzzValidateTable(f *testing.F) {
	for _, s := range []string{"cats", "_", "../etc", "a/b", "..", ".", "a\x00b", "Ä", "a b", "$(id)", "x;rm -rf /", "1a", "a-b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if ValidateTable(name) != nil {
			return
		}
		dir := StagedDir(name)
		if path.Clean(dir) != dir || path.Dir(dir) != StagingRoot || path.Base(dir) != name {
			t.Fatalf("table %q gives staged path %q outside %s", name, dir, StagingRoot)
		}
	})
}
