package dataset

import (
	"strings"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/category"
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
		task, _ := category.Lookup("image_classification")
		ds := &Dataset{Extension: ".jpg"}
		probs := &Problems{}
		r := &checkRun{abs: dir, task: task, opts: Options{Task: task, LabelColumn: "label"}, ds: ds, probs: probs,
			primary: map[string]string{"a.jpg": "a", "b.jpg": "b"}}
		r.checkManifest()
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
