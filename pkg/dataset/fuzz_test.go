package dataset

import (
	"strings"
	"testing"
)

// FuzzCheckLabels: any labels.csv gives either rows or a named problem, and
// never a panic.
func FuzzCheckLabels(f *testing.F) {
	for _, s := range []string{"filename,label\na.jpg,cat\nb.jpg,dog\n", "", "\xff\xfe", "filename,label\n", "a,a\n1,2\n",
		"filename,label\n\"a.jpg,cat\n", "\xef\xbb\xbffilename,label\na.jpg,x\n", "filename,label\na.jpg\n", "filename\x00,label\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		writeFile(t, dir+"/labels.csv", string(data))
		ds := &Dataset{}
		probs := &Problems{}
		checkLabels(dir, "label", map[string]struct{}{"a.jpg": {}, "b.jpg": {}}, ds, probs)
		if len(probs.List) == 0 && ds.Rows == 0 {
			t.Fatalf("labels.csv %q: no rows and no problem", data)
		}
		for _, p := range probs.List {
			if strings.TrimSpace(p) == "" {
				t.Fatalf("labels.csv %q: an empty problem", data)
			}
		}
	})
}
