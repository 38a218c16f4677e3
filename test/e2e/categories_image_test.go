//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
)

// TestCategoriesImageTasks: for every image task, a dry run reports the
// task's spec, a push stages labels.csv (object detection has none) and
// every folder of the task, and the staged copy is exact.
func TestCategoriesImageTasks(t *testing.T) {
	tests := []struct {
		task, table string
		extra       []string
		folders     []string
		specKeys    []string
	}{
		{"image_classification", "e2e_cat_ic", nil, []string{"images"}, []string{"images"}},
		{"object_detection", "e2e_cat_od", nil, []string{"images", "annotations"}, []string{"images", "annotations"}},
		{"semantic_segmentation", "e2e_cat_ss", nil, []string{"images", "masks"}, []string{"images", "masks", "schema"}},
		{"keypoint_detection", "e2e_cat_kp", []string{"--target-size", "48x40", "--number-of-keypoints", "4"}, []string{"images"},
			[]string{"images", "target_size", "number_of_keypoints"}},
	}
	for _, tt := range tests {
		t.Run(tt.task, func(t *testing.T) {
			removeStaged(t, tt.table)
			dir := filepath.Join(t.TempDir(), tt.table)
			o := fixture.Options{Images: 12, Width: 48, Height: 40, Keypoints: 4, BareNames: tt.task == "keypoint_detection"}
			if tt.task != "image_classification" {
				o.Task = tt.task
			}
			if err := fixture.Write(dir, o); err != nil {
				t.Fatal(err)
			}
			wantFiles := 12 * len(tt.folders)
			if tt.task != "object_detection" {
				wantFiles++ // labels.csv
			}
			args := append([]string{"--task", tt.task}, tt.extra...)

			// Dry run: the task's spec, nothing staged.
			r := runPlugin(t, nil, append([]string{"push", dir, "--table", tt.table, "-n", ns, "-o", "json", "--dry-run"}, args...)...)
			if r.code != 0 {
				t.Fatalf("dry run:\n%s", r)
			}
			var dry struct {
				Status  string                     `json:"status"`
				Files   int                        `json:"files"`
				Folders map[string]int             `json:"folders"`
				Spec    map[string]json.RawMessage `json:"spec"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &dry); err != nil {
				t.Fatalf("dry run output: %v\n%s", err, r)
			}
			if dry.Status != "dry-run" || dry.Files != wantFiles {
				t.Errorf("dry run: status %q, %d files, want %d", dry.Status, dry.Files, wantFiles)
			}
			for _, k := range tt.specKeys {
				if _, ok := dry.Spec[k]; !ok {
					t.Errorf("the spec lacks %s: %v", k, dry.Spec)
				}
			}
			for _, f := range tt.folders {
				if dry.Folders[f] != 12 {
					t.Errorf("folder %s: %d files, want 12", f, dry.Folders[f])
				}
			}
			if sums := stagedSums(t, tt.table); len(sums) != 0 {
				t.Fatalf("a dry run staged files: %v", sums)
			}

			// Push: every folder lands, byte for byte.
			r, rep := push(t, dir, tt.table, args...)
			if r.code != 0 || rep.Status != "staged" || !rep.Verified || rep.Files != wantFiles {
				t.Fatalf("push: %+v\n%s", rep, r)
			}
			assertStagedCopy(t, dir, tt.table)
			staged := stagedSums(t, tt.table)
			for _, f := range tt.folders {
				n := 0
				for rel := range staged {
					if strings.HasPrefix(rel, f+"/") {
						n++
					}
				}
				if n != 12 {
					t.Errorf("%d files staged under %s/, want 12", n, f)
				}
			}
			assertNoStagePods(t, ns)
			// status names the task of the staged table.
			st, _ := statusOf(t)
			task := ""
			for _, tb := range st.Tables {
				if tb.Name == tt.table {
					task = tb.Task
				}
			}
			if task != tt.task {
				t.Errorf("status shows task %q for %s, want %s", task, tt.table, tt.task)
			}

			// Re-push after changing one sidecar file (an annotation, a
			// mask): only that file is sent.
			if side := tt.folders[len(tt.folders)-1]; side != "images" {
				entries, err := os.ReadDir(filepath.Join(dir, side))
				must(t, err)
				changed := filepath.Join(dir, side, entries[3].Name())
				if side == "masks" {
					// Another valid mask of the same size: the first one's.
					must(t, os.WriteFile(changed, mustRead(t, filepath.Join(dir, side, entries[0].Name())), 0o644))
				} else {
					b := mustRead(t, changed)
					must(t, os.WriteFile(changed, []byte(strings.Replace(string(b), "</annotation>", "<!-- checked --></annotation>", 1)), 0o644))
				}
				r, rep := push(t, dir, tt.table, args...)
				if r.code != 0 || rep.Transfer == nil || rep.Transfer.SentFiles != 1 {
					t.Fatalf("re-push after changing %s: want exactly that file sent:\n%s", changed, r)
				}
				assertStagedCopy(t, dir, tt.table)
			}
		})
	}
}

// TestCategoriesRefusedBeforeTheCluster: a broken dataset of each image task
// exits 3 naming the file, and a flag of another task exits 2.
func TestCategoriesRefusedBeforeTheCluster(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "od")
	if err := fixture.Write(dir, fixture.Options{Images: 4, Width: 48, Height: 40, Task: fixture.ObjectDetection}); err != nil {
		t.Fatal(err)
	}
	must(t, removeFile(filepath.Join(dir, "annotations", "img_00001.xml")))
	r := runPlugin(t, nil, "push", dir, "--table", "e2e_cat_bad", "-n", ns, "--task", "object_detection", "--dry-run")
	if r.code != 3 || !strings.Contains(r.stderr, "annotations/img_00001.xml") {
		t.Errorf("want exit 3 naming the missing annotation:\n%s", r)
	}
	r = runPlugin(t, nil, "push", dir, "--table", "e2e_cat_bad", "-n", ns, "--task", "text_classification", "--min-size", "8x8")
	if r.code != 2 || !strings.Contains(r.stderr, "--min-size does not apply to text_classification") {
		t.Errorf("want exit 2 naming the flag:\n%s", r)
	}
	// A flag given without its dashes is an argument too many.
	r = runPlugin(t, nil, "push", dir, "table", "e2e_cat_bad", "-n", ns)
	if r.code != 2 || !strings.Contains(r.stderr, "push takes one argument, the dataset folder to push, and got 3") || !strings.Contains(r.stderr, "(--table, not table)") {
		t.Errorf("want exit 2 naming the arguments and the flag's dashes:\n%s", r)
	}
}

func removeFile(p string) error { return os.Remove(p) }
