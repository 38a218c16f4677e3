package transfer

import (
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
)

// FuzzEntryName: an accepted name stays under data/ whatever it holds.
func FuzzEntryName(f *testing.F) {
	for _, s := range []string{"labels.csv", "images/a.jpg", "../x", "images/../../x", "/etc/passwd", "images/./a", "a\\..\\b", "", "images/a\x00b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rel string) {
		name, err := EntryName(rel)
		if err != nil {
			return
		}
		if !strings.HasPrefix(name, "data/") || path.Clean(name) != name {
			t.Fatalf("EntryName(%q) = %q", rel, name)
		}
		for _, el := range strings.Split(name, "/") {
			if el == ".." || el == "." || el == "" {
				t.Fatalf("EntryName(%q) = %q holds %q", rel, name, el)
			}
		}
		if j := filepath.Join("/root", name); !strings.HasPrefix(j, "/root/data/") {
			t.Fatalf("EntryName(%q) = %q escapes to %q", rel, name, j)
		}
	})
}

// FuzzAgentFileNames stages one image under a fuzzed name with the real
// agent: the name must land as a file of images/, never run as code, never
// write outside the staging folder.
func FuzzAgentFileNames(f *testing.F) {
	for _, s := range []string{"a.jpg", "$(touch PWNED).jpg", "`touch PWNED`.jpg", "a;touch PWNED.jpg", "'\".jpg",
		"-rf.jpg", "--.jpg", " leading space.jpg", "x'$(touch PWNED)'.jpg", "*.jpg", "a\\b.jpg", "ünï.jpg"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if !strings.HasSuffix(name, ".jpg") || strings.ContainsAny(name, "/\\") || !utf8.ValidString(name) ||
			strings.IndexFunc(name, unicode.IsControl) >= 0 || name == ".jpg" || len(name) > 200 {
			return
		}
		w := newWorld(t)
		must(t, os.RemoveAll(filepath.Join(w.local, "images")))
		must(t, fixture.Write(w.local, fixture.Options{Images: 2, Width: 8, Height: 8,
			Name: func(i int) string { return []string{name, "other.jpg"}[i] }}))
		if _, err := w.push(); err != nil {
			t.Fatalf("name %q: %v", name, err)
		}
		w.assertExactCopy()
		_ = filepath.Walk(filepath.Dir(w.volume), func(p string, _ os.FileInfo, _ error) error {
			if strings.Contains(filepath.Base(p), "PWNED") && !strings.Contains(p, "/images/") {
				t.Fatalf("name %q ran as code: %s exists", name, p)
			}
			return nil
		})
	})
}
