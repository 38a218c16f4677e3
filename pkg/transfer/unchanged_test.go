//go:build linux

package transfer

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// unchangedPush pushes as the push command does, with the seals of the
// cache folder cache: when CheckUnchanged vouches for the dataset nothing
// is hashed before the stream, else every file is. The files of the
// fixture are seconds old: the push is dated a minute ahead, so that
// they are outside the racy window (a push right after writing them
// records no digest; TestStageUnchangedNeedsQuietFiles). plan is the
// plan the push sent; fellBack says the agent did not confirm the seal.
func (w *world) unchangedPush(cache string) (res *Result, plan Plan, fellBack bool, err error) {
	w.t.Helper()
	w.t.Setenv(cacheDirEnv, cache)
	o := w.options(context.Background())
	o.Seals, o.Start = OpenSeals(), time.Now().Add(time.Minute)
	o.Unchanged = CheckUnchanged(o.Root, o.Files, o.Seals, o.Table)
	if o.Unchanged != nil {
		o.Local = NewLocal(o.Files)
		o.Fallback = func() { fellBack = true }
	}
	o.OnPlan = func(p Plan) { plan = p }
	res, err = Sync(context.Background(), o)
	return res, plan, fellBack, err
}

// TestStageUnchangedRepushNamesNoFile: once a push recorded the digest of
// its files beside the seal, an unchanged re-push hashes nothing, the
// agent confirms the sealed copy instead of listing it, and the plan
// keeps it without naming a file; again and again.
func TestStageUnchangedRepushNamesNoFile(t *testing.T) {
	w := newWorld(t)
	cache := t.TempDir()
	if res, _, _, err := w.unchangedPush(cache); err != nil || res.Kept {
		t.Fatalf("first push: %+v, %v", res, err)
	}
	dir := inodeOf(t, w.staged())
	for push := 2; push <= 3; push++ {
		res, plan, fellBack, err := w.unchangedPush(cache)
		if err != nil {
			t.Fatal(err)
		}
		if fellBack || plan.sealed != 7 || len(plan.Reuse) != 0 {
			t.Errorf("push %d: fell back %v, plan of %d sealed files and %d named: want the 7 sealed files and none named", push, fellBack, plan.sealed, len(plan.Reuse))
		}
		if !res.Kept || res.SentFiles != 0 || res.Reused != 7 || res.Verified != 7 || res.Rounds != 1 || res.HashedFiles+res.CachedHashes != 0 {
			t.Errorf("push %d: %+v, want the 7 files kept in place and none hashed", push, res)
		}
		if res.WireBytes > 4096 {
			t.Errorf("push %d sent %d bytes for a plan that names no file", push, res.WireBytes)
		}
		if inodeOf(t, w.staged()) != dir {
			t.Errorf("push %d replaced the staged copy", push)
		}
		w.assertExactCopy()
	}
}

// TestStageUnchangedNeedsQuietFiles: a push whose files changed within
// the racy window of its start records no digest (a write just after the
// hash could leave every stat as it was): the next push hashes.
func TestStageUnchangedNeedsQuietFiles(t *testing.T) {
	w := newWorld(t)
	cache := t.TempDir()
	t.Setenv(cacheDirEnv, cache)
	o := w.options(context.Background())
	o.Seals, o.Start = OpenSeals(), time.Now()
	if _, err := Sync(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if u := CheckUnchanged(o.Root, o.Files, OpenSeals(), "cats"); u != nil {
		t.Error("files written just before the push were vouched for by stat")
	}
	// The full path still keeps the copy (it hashed every file).
	if res, _, _, err := w.unchangedPush(cache); err != nil || !res.Kept || res.CachedHashes+res.HashedFiles == 0 {
		t.Errorf("re-push: %+v, %v: want the copy kept after hashing", res, err)
	}
}

// TestStageUnchangedLocalChanges: a local file edited with its mtime put
// back (its ctime tells), one added or removed, or the dataset read from
// another place: stat no longer vouches, and the push hashes and sends
// what changed.
func TestStageUnchangedLocalChanges(t *testing.T) {
	w := newWorld(t)
	cache := t.TempDir()
	if _, _, _, err := w.unchangedPush(cache); err != nil {
		t.Fatal(err)
	}
	o := w.options(context.Background())
	seals := OpenSeals()
	if CheckUnchanged(o.Root, o.Files, seals, "cats") == nil {
		t.Fatal("the unchanged dataset is not vouched for")
	}
	if CheckUnchanged(o.Root, o.Files[1:], seals, "cats") != nil {
		t.Error("a dataset with a file less is vouched for")
	}
	extra := append(slices.Clone(o.Files), o.Files[0])
	extra[len(extra)-1].Rel = "images/extra.jpg"
	if CheckUnchanged(o.Root, extra, seals, "cats") != nil {
		t.Error("a dataset with a file more is vouched for")
	}
	if CheckUnchanged(o.Root, o.Files, seals, "dogs") != nil {
		t.Error("the dataset is vouched for in another table")
	}
	// A copy with the same names, sizes and mtimes: other inodes.
	copied := filepath.Join(t.TempDir(), "copy")
	must(t, os.CopyFS(copied, os.DirFS(w.local)))
	for _, f := range o.Files {
		must(t, os.Chtimes(filepath.Join(copied, f.Source()), f.ModTime, f.ModTime))
	}
	if CheckUnchanged(copied, o.Files, seals, "cats") != nil {
		t.Error("a copy of the dataset (other inodes) is vouched for")
	}

	writeMtimeBack(t, filepath.Join(w.local, "images", "img_00004.jpg"))
	o = w.options(context.Background())
	if CheckUnchanged(o.Root, o.Files, seals, "cats") != nil {
		t.Fatal("a file written with its mtime put back is vouched for")
	}
	res, plan, _, err := w.unchangedPush(cache)
	must(t, err)
	if plan.sealed != 0 || res.Kept || res.SentFiles != 1 {
		t.Errorf("result %+v (sealed plan %d): want the edited file sent", res, plan.sealed)
	}
	w.assertExactCopy()
}

// TestStageUnchangedVolumeChanges: whatever changed on the volume since
// the push that recorded the seal (the manifest rewritten, a staged file
// written with its mtime put back, one added or removed, another user's
// push of the table) the agent does not confirm the seal: the same round
// lists the staged copy and the push takes the full path, and the staged
// copy ends as the user's files.
func TestStageUnchangedVolumeChanges(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(w *world)
		kept   bool
		sent   int
	}{
		{"manifest rewritten as it was", func(w *world) {
			m := filepath.Join(w.stagingRoot(), ".cats.manifest")
			b := mustRead(w.t, m)
			must(w.t, os.Remove(m))
			must(w.t, os.WriteFile(m, b, 0o644))
		}, false, 0},
		{"staged file written, mtime put back", func(w *world) {
			writeMtimeBack(w.t, filepath.Join(w.staged(), "images", "img_00002.jpg"))
		}, false, 1},
		{"file added to the staged copy", func(w *world) {
			must(w.t, os.WriteFile(filepath.Join(w.staged(), "images", "planted.jpg"), []byte("x"), 0o644))
		}, false, 0},
		{"file removed from the staged copy", func(w *world) {
			must(w.t, os.Remove(filepath.Join(w.staged(), "images", "img_00003.jpg")))
		}, false, 1},
		{"another user's push since", func(w *world) {
			if _, _, _, err := w.unchangedPush(w.t.TempDir()); err != nil {
				w.t.Fatal(err)
			}
		}, false, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			cache := t.TempDir()
			if _, _, _, err := w.unchangedPush(cache); err != nil {
				t.Fatal(err)
			}
			c.change(w)
			res, plan, fellBack, err := w.unchangedPush(cache)
			if err != nil {
				t.Fatal(err)
			}
			if !fellBack || plan.sealed != 0 || res.Rounds != 1 {
				t.Errorf("fell back %v, sealed plan %d, %d rounds: want the full path in the same round", fellBack, plan.sealed, res.Rounds)
			}
			if res.Kept != c.kept || res.SentFiles != c.sent {
				t.Errorf("result %+v: want kept %v, %d files sent", res, c.kept, c.sent)
			}
			w.assertExactCopy()
		})
	}
}

// writeMtimeBack writes into the file p in place, same size, and puts its
// modification time back: only its change time tells.
func writeMtimeBack(t *testing.T, p string) {
	t.Helper()
	before, err := os.Stat(p)
	must(t, err)
	time.Sleep(20 * time.Millisecond)
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	must(t, err)
	_, err = f.WriteAt([]byte("XXXX"), 100)
	must(t, err)
	must(t, f.Close())
	must(t, os.Chtimes(p, before.ModTime(), before.ModTime()))
}
