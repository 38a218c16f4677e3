package transfer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// snapshot records every entry under dir: type, mode, owner and content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		st := info.Sys().(*syscall.Stat_t)
		desc := info.Mode().String() + " " + string(rune('0'+st.Uid%10))
		if info.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += " " + string(b)
		}
		if info.Mode()&os.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			desc += " -> " + target
		}
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestStageOnAHostileVolume plants, where a push works, what another tenant
// of the shared volume could: links, hard links, FIFOs, foreign files. The
// push must never write or delete a byte outside .tracebloc-staging/cats,
// never hang, and end in an exact copy or a clear exit 7.
func TestStageOnAHostileVolume(t *testing.T) {
	tests := []struct {
		name string
		// plant prepares the volume; victim is a folder outside the staging
		// area holding data/ and secret.txt.
		plant func(t *testing.T, w *world, victim string)
		// fails, when set, is a part of the exit-7 message expected.
		fails string
	}{
		{name: "partial data is a link to another folder", plant: func(t *testing.T, w *world, victim string) {
			must(t, os.MkdirAll(filepath.Join(w.stagingRoot(), ".partial-cats"), 0o755))
			must(t, os.Symlink(filepath.Join(victim, "data"), filepath.Join(w.stagingRoot(), ".partial-cats", "data")))
		}},
		{name: "partial folder is a link to another folder", plant: func(t *testing.T, w *world, victim string) {
			must(t, os.MkdirAll(w.stagingRoot(), 0o755))
			must(t, os.Symlink(victim, filepath.Join(w.stagingRoot(), ".partial-cats")))
		}},
		{name: "manifest is a link to another file", plant: func(t *testing.T, w *world, victim string) {
			must(t, os.MkdirAll(w.stagingRoot(), 0o755))
			must(t, os.Symlink(filepath.Join(victim, "secret.txt"), filepath.Join(w.stagingRoot(), ".cats.manifest")))
		}},
		{name: "manifest is a FIFO", plant: func(t *testing.T, w *world, victim string) {
			must(t, os.MkdirAll(w.stagingRoot(), 0o755))
			must(t, syscall.Mkfifo(filepath.Join(w.stagingRoot(), ".cats.manifest"), 0o666))
		}},
		{name: "owner file is a link to another file", plant: func(t *testing.T, w *world, victim string) {
			must(t, os.MkdirAll(filepath.Join(w.stagingRoot(), ".partial-cats"), 0o755))
			must(t, os.Symlink(filepath.Join(victim, "secret.txt"), filepath.Join(w.stagingRoot(), ".partial-cats", "owner")))
		}},
		{name: "staging folder is a link", fails: "symbolic link", plant: func(t *testing.T, w *world, victim string) {
			must(t, os.Symlink(victim, w.stagingRoot()))
		}},
		{name: "partial file is a hard link to another file", plant: func(t *testing.T, w *world, victim string) {
			d := filepath.Join(w.stagingRoot(), ".partial-cats", "data", "images")
			must(t, os.MkdirAll(d, 0o755))
			must(t, os.Link(filepath.Join(victim, "secret.txt"), filepath.Join(d, "img_00000.jpg")))
		}},
		{name: "partial file is a FIFO", plant: func(t *testing.T, w *world, victim string) {
			d := filepath.Join(w.stagingRoot(), ".partial-cats", "data", "images")
			must(t, os.MkdirAll(d, 0o755))
			must(t, syscall.Mkfifo(filepath.Join(d, "img_00001.jpg"), 0o666))
		}},
		{name: "partial images folder is a link", plant: func(t *testing.T, w *world, victim string) {
			d := filepath.Join(w.stagingRoot(), ".partial-cats", "data")
			must(t, os.MkdirAll(d, 0o755))
			must(t, os.Symlink(filepath.Join(victim, "data"), filepath.Join(d, "images")))
		}},
		{name: "partial file of another owner", plant: func(t *testing.T, w *world, victim string) {
			d := filepath.Join(w.stagingRoot(), ".partial-cats", "data", "images")
			must(t, os.MkdirAll(d, 0o755))
			p := filepath.Join(d, "img_00002.jpg")
			must(t, os.WriteFile(p, mustRead(t, filepath.Join(w.local, "images", "img_00002.jpg")), 0o666))
			must(t, os.Chown(p, 4321, 4321))
		}},
		{name: "staged file is a link to another file", plant: func(t *testing.T, w *world, victim string) {
			d := filepath.Join(w.staged(), "images")
			must(t, os.MkdirAll(d, 0o755))
			must(t, os.Symlink(filepath.Join(victim, "secret.txt"), filepath.Join(d, "img_00003.jpg")))
		}},
		{name: "staged file is a FIFO", plant: func(t *testing.T, w *world, victim string) {
			d := filepath.Join(w.staged(), "images")
			must(t, os.MkdirAll(d, 0o755))
			must(t, syscall.Mkfifo(filepath.Join(d, "img_00003.jpg"), 0o666))
		}},
		{name: "staged copy is a link to another folder", plant: func(t *testing.T, w *world, victim string) {
			must(t, os.MkdirAll(w.stagingRoot(), 0o755))
			must(t, os.Symlink(filepath.Join(victim, "data"), w.staged()))
		}},
		{name: "set-aside copy is a link and the table has none", plant: func(t *testing.T, w *world, victim string) {
			must(t, os.MkdirAll(w.stagingRoot(), 0o755))
			must(t, os.Symlink(filepath.Join(victim, "data"), filepath.Join(w.stagingRoot(), ".old-cats-1")))
		}},
		{name: "stale partial of another table is a link", plant: func(t *testing.T, w *world, victim string) {
			must(t, os.MkdirAll(w.stagingRoot(), 0o755))
			p := filepath.Join(w.stagingRoot(), ".partial-dogs")
			must(t, os.Symlink(filepath.Join(victim, "data"), p))
			old := time.Now().Add(-30 * 24 * time.Hour)
			must(t, os.Chtimes(filepath.Join(victim, "data"), old, old))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			victim := t.TempDir()
			must(t, os.MkdirAll(filepath.Join(victim, "data", "images"), 0o755))
			must(t, os.WriteFile(filepath.Join(victim, "secret.txt"), []byte("not yours"), 0o600))
			must(t, os.WriteFile(filepath.Join(victim, "data", "labels.csv"), []byte("keep me"), 0o644))
			must(t, os.WriteFile(filepath.Join(victim, "data", "images", "img_00000.jpg"), []byte("mine"), 0o644))
			tt.plant(t, w, victim)
			before := snapshot(t, victim)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, err := Sync(ctx, w.options(ctx))
			if ctx.Err() != nil {
				t.Fatal("the push hung")
			}
			if diff := cmp.Diff(before, snapshot(t, victim)); diff != "" {
				t.Errorf("the push changed data outside its table (-before +after):\n%s", diff)
			}
			if tt.fails != "" {
				if exitcode.Of(err) != exitcode.Staging || !strings.Contains(err.Error(), tt.fails) {
					t.Fatalf("err = %v (exit %d), want exit 7 mentioning %q", err, exitcode.Of(err), tt.fails)
				}
				return
			}
			if err != nil {
				t.Fatalf("push: %v", err)
			}
			if info, err := os.Lstat(w.staged()); err != nil || !info.IsDir() {
				t.Fatalf("the staged copy is not a real folder: %v %v", info, err)
			}
			if diff := cmp.Diff(tree(t, w.local), tree(t, w.staged())); diff != "" {
				t.Fatalf("staged copy differs from the local dataset (-local +staged):\n%s", diff)
			}
		})
	}
}

// TestLocalFilesAreSentAsChecked: what the push sends is exactly what the
// pre-flight checked and hashed. A file swapped for a link, a folder
// swapped for a link, or a file that grew since are refused with exit 3
// naming the file, and nothing of theirs reaches the staged copy.
func TestLocalFilesAreSentAsChecked(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, local, outside string)
		names  string
	}{
		{"a file swapped for a link", func(t *testing.T, local, outside string) {
			p := filepath.Join(local, "images", "img_00002.jpg")
			must(t, os.Remove(p))
			must(t, os.Symlink(filepath.Join(outside, "secret.jpg"), p))
		}, "img_00002.jpg"},
		{"the images folder swapped for a link", func(t *testing.T, local, outside string) {
			must(t, os.Rename(filepath.Join(local, "images"), filepath.Join(outside, "moved")))
			must(t, os.Symlink(filepath.Join(outside, "moved"), filepath.Join(local, "images")))
		}, "images/"},
		{"a file that grew", func(t *testing.T, local, outside string) {
			f, err := os.OpenFile(filepath.Join(local, "images", "img_00004.jpg"), os.O_APPEND|os.O_WRONLY, 0)
			must(t, err)
			_, err = f.Write(make([]byte, 4096))
			must(t, err)
			must(t, f.Close())
		}, "img_00004.jpg"},
		{"a file edited in place, its size unchanged", func(t *testing.T, local, outside string) {
			f, err := os.OpenFile(filepath.Join(local, "images", "img_00003.jpg"), os.O_WRONLY, 0)
			must(t, err)
			_, err = f.WriteAt([]byte{0xff}, 40)
			must(t, err)
			must(t, f.Close())
		}, "img_00003.jpg"},
		{"a file swapped for another of the same size", func(t *testing.T, local, outside string) {
			p := filepath.Join(local, "images", "img_00005.jpg")
			st, err := os.Stat(p)
			must(t, err)
			other := filepath.Join(local, "images", ".other")
			must(t, os.WriteFile(other, make([]byte, st.Size()), 0o644))
			must(t, os.Chtimes(other, st.ModTime(), st.ModTime()))
			must(t, os.Rename(other, p))
		}, "img_00005.jpg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			outside := t.TempDir()
			must(t, os.WriteFile(filepath.Join(outside, "secret.jpg"), []byte("not part of the dataset"), 0o644))
			o := w.options(context.Background()) // walked and hashed: the pre-flight
			tt.change(t, w.local, outside)
			_, err := Sync(context.Background(), o)
			if exitcode.Of(err) != exitcode.Local || !strings.Contains(err.Error(), tt.names) {
				t.Fatalf("err = %v (exit %d), want exit 3 naming %s", err, exitcode.Of(err), tt.names)
			}
			if _, err := os.Stat(w.staged()); !os.IsNotExist(err) {
				t.Errorf("a staged copy was made: %v", err)
			}
		})
	}
}
