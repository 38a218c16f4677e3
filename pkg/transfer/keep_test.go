package transfer

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// sealedPush pushes with the seals of the cache folder cache.
func (w *world) sealedPush(cache string) (*Result, error) {
	w.t.Helper()
	w.t.Setenv(cacheDirEnv, cache)
	o := w.options(context.Background())
	o.Seals = OpenSeals()
	return Sync(context.Background(), o)
}

func inodeOf(t *testing.T, p string) uint64 {
	t.Helper()
	st, err := os.Lstat(p)
	must(t, err)
	return st.Sys().(*syscall.Stat_t).Ino
}

// TestStageUnchangedRepushKeepsTheStagedCopy: a re-push of an unchanged
// dataset keeps the staged copy in place (the same folder and files),
// again and again, and it stays the user's files exactly.
func TestStageUnchangedRepushKeepsTheStagedCopy(t *testing.T) {
	w := newWorld(t)
	cache := t.TempDir()
	if res, err := w.sealedPush(cache); err != nil || res.Kept {
		t.Fatalf("first push: %+v, %v", res, err)
	}
	dir, file := inodeOf(t, w.staged()), inodeOf(t, filepath.Join(w.staged(), "labels.csv"))
	for round := 2; round <= 3; round++ {
		res, err := w.sealedPush(cache)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Kept || res.SentFiles != 0 || res.Verified != 7 || res.Rounds != 1 {
			t.Errorf("push %d: %+v, want the staged copy kept with its 7 files", round, res)
		}
		if inodeOf(t, w.staged()) != dir || inodeOf(t, filepath.Join(w.staged(), "labels.csv")) != file {
			t.Errorf("push %d replaced the staged copy", round)
		}
		w.assertExactCopy()
	}
	if _, err := os.Lstat(filepath.Join(w.stagingRoot(), ".partial-cats")); err == nil {
		t.Errorf("a partial copy is left behind")
	}
}

// TestStageKeepNeedsTheRecordedSeal: without the seal of the push that
// wrote the staged copy (no cache folder, another user's), the copy is
// built anew and verified in full.
func TestStageKeepNeedsTheRecordedSeal(t *testing.T) {
	w := newWorld(t)
	if _, err := w.sealedPush(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	res, err := w.sealedPush(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if res.Kept || res.Reused != 7 {
		t.Errorf("result = %+v, want a new copy of 7 reused files", res)
	}
	if res, err = w.push(); err != nil || res.Kept {
		t.Errorf("a push without seals kept the copy: %+v, %v", res, err)
	}
	w.assertExactCopy()
}

// TestStageKeptCopyChangedInPlaceIsResent: a workload writes a staged
// file in place (same size, mtime put back) and re-stamps its manifest
// line with the file's new stat and the old hash. The push does not keep
// the copy: the file is found changed and sent again.
func TestStageKeptCopyChangedInPlaceIsResent(t *testing.T) {
	w := newWorld(t)
	cache := t.TempDir()
	if _, err := w.sealedPush(cache); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(w.staged(), "images", "img_00004.jpg")
	before, err := os.Stat(victim)
	must(t, err)
	f, err := os.OpenFile(victim, os.O_WRONLY, 0)
	must(t, err)
	_, err = f.WriteAt([]byte("XXXX"), 100)
	must(t, err)
	must(t, f.Close())
	must(t, os.Chtimes(victim, before.ModTime(), before.ModTime()))
	st := statOf(t, victim)
	manifest := filepath.Join(w.stagingRoot(), ".cats.manifest")
	lines := strings.Split(string(mustRead(t, manifest)), "\n")
	for i, l := range lines {
		if f := strings.SplitN(l, " ", 6); len(f) == 6 && f[5] == "images/img_00004.jpg" {
			f[1], f[2], f[3], f[4] = strconv.FormatInt(st.Size, 10), strconv.FormatInt(st.Mtim.Nano(), 10),
				strconv.FormatInt(st.Ctim.Nano(), 10), strconv.FormatUint(st.Ino, 10)
			lines[i] = strings.Join(f, " ")
		}
	}
	must(t, os.WriteFile(manifest, []byte(strings.Join(lines, "\n")), 0o644))
	res, err := w.sealedPush(cache)
	if err != nil {
		t.Fatal(err)
	}
	w.assertExactCopy()
	if res.Kept || res.SentFiles != 1 {
		t.Errorf("result = %+v, want the changed file sent again and a new copy", res)
	}
}

func statOf(t *testing.T, p string) *syscall.Stat_t {
	t.Helper()
	fi, err := os.Stat(p)
	must(t, err)
	return fi.Sys().(*syscall.Stat_t)
}
