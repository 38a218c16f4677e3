//go:build unix

package dataset

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReadersDoNotWaitOnAFIFO: each reader of the pre-flight opens a file
// the walk saw as a regular file. Replaced by a FIFO since (by the user, a
// sync tool, another tenant of a shared folder), an open with os.Open waits
// for a writer for good; every reader must refuse it at once instead,
// naming what happened.
func TestReadersDoNotWaitOnAFIFO(t *testing.T) {
	readers := map[string]struct {
		rel  string
		read func(dir string) string // what the reader reported
	}{
		"labels reader": {LabelsFile, func(dir string) string {
			r := &checkRun{abs: dir, probs: &Problems{Root: dir}, ds: &Dataset{}}
			r.checkManifest()
			return fmt.Sprint(r.probs.List)
		}},
		"image reader": {"images/a.png", func(dir string) string {
			u := &unit{rel: "images/a.png"}
			(&imagesCheck{r: &checkRun{abs: dir}}).file(u)
			return fmt.Sprint(u.err)
		}},
		"mask reader": {"masks/a.png", func(dir string) string {
			r := &checkRun{abs: dir, sidecars: map[string]map[string]struct{}{"masks": {"a.png": {}}}}
			res := (&masksCheck{r: r, dir: "masks", name: func(stem string) string { return stem + ".png" }}).file(&unit{stem: "a", rel: "images/a.png"})
			return fmt.Sprint(res)
		}},
		"text labels reader": {LabelsFile, func(dir string) string {
			var probs problemList
			checkTextLabels(dir, TextOptions{}, &texts{ds: &Dataset{}}, nil, &Dataset{}, &probs)
			return fmt.Sprint(probs)
		}},
		"tabular schema reader": {"data.csv", func(dir string) string {
			_, _, err := inferSchema(filepath.Join(dir, "data.csv"), "data.csv", "")
			return fmt.Sprint(err)
		}},
		"tabular rows reader": {"data.csv", func(dir string) string {
			var probs problemList
			err := scanTabular(filepath.Join(dir, "data.csv"), "data.csv", TabularOptions{}, &Tabular{}, &probs)
			return fmt.Sprint(err)
		}},
	}
	for name, rd := range readers {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, filepath.FromSlash(rd.rel))
			must(t, os.MkdirAll(filepath.Dir(p), 0o755))
			must(t, syscall.Mkfifo(p, 0o644))
			got := make(chan string, 1)
			go func() { got <- rd.read(dir) }()
			select {
			case msg := <-got:
				if !strings.Contains(msg, "no longer a regular file") {
					t.Errorf("the %s reported %q, want the file named as no longer a regular file", name, msg)
				}
			case <-time.After(5 * time.Second):
				// Let the blocked open go, so the test binary can end.
				if f, err := os.OpenFile(p, os.O_WRONLY, 0); err == nil {
					f.Close()
				}
				t.Fatalf("the %s waits on a FIFO planted after the walk", name)
			}
		})
	}
}
