//go:build linux

package transfer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestStageReusedFileChangedBeforeTheSwapIsNotSealed: a reused file (a
// link of the staged one in the new copy) written in place after the agent
// hashed it and before the swap reaches the staged copy: that push had
// verified it already. Its manifest must not vouch for the written bytes
// with the hash taken before: the next unchanged push does not keep the
// copy in place but finds the file changed and sends it again.
func TestStageReusedFileChangedBeforeTheSwapIsNotSealed(t *testing.T) {
	w := newWorld(t)
	if _, err := w.sealedPush(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	// A push with a cache folder of its own: no seal, so the full path,
	// every file linked from the staged copy.
	cache := t.TempDir()
	t.Setenv(cacheDirEnv, cache)
	o := w.options(context.Background())
	o.Seals = OpenSeals()
	victim := filepath.Join(w.staged(), "images", "img_00004.jpg")
	tampered := false
	o.BeforeSwap = func(context.Context) error {
		f, err := os.OpenFile(victim, os.O_WRONLY, 0)
		must(t, err)
		_, err = f.WriteAt([]byte("XXXX"), 100)
		must(t, err)
		must(t, f.Close())
		tampered = true
		return nil
	}
	res, err := Sync(context.Background(), o)
	must(t, err)
	if !tampered || res.Reused != 7 {
		t.Fatalf("tampered %v, result %+v: want the write before the swap of a copy of 7 reused files", tampered, res)
	}
	res, err = w.sealedPush(cache)
	must(t, err)
	w.assertExactCopy()
	if res.Kept || res.SentFiles != 1 {
		t.Errorf("result = %+v, want the changed file sent again and a new copy", res)
	}
	// Left alone, the copy with reused files is sealed whole: the next
	// push keeps it.
	res, err = w.sealedPush(cache)
	must(t, err)
	w.assertExactCopy()
	if !res.Kept {
		t.Errorf("result = %+v, want the untouched copy kept in place", res)
	}
}

// TestStageKeepStoppedBeforeTheSwapLeavesNothing: a push that would keep
// the staged copy in place but stops before the swap (Ctrl-C, a refusal
// before the commit) leaves no partial copy behind: it had nothing to
// keep for a next push.
func TestStageKeepStoppedBeforeTheSwapLeavesNothing(t *testing.T) {
	w := newWorld(t)
	cache := t.TempDir()
	if _, err := w.sealedPush(cache); err != nil {
		t.Fatal(err)
	}
	t.Setenv(cacheDirEnv, cache)
	o := w.options(context.Background())
	o.Seals = OpenSeals()
	var kept bool
	o.OnPlan = func(p Plan) { kept = p.Keep != "" }
	o.BeforeSwap = func(context.Context) error { return errors.New("refused before the swap") }
	if _, err := Sync(context.Background(), o); err == nil {
		t.Fatal("a push refused before the swap succeeded")
	}
	if !kept {
		t.Fatal("the plan did not ask to keep the staged copy")
	}
	if _, err := os.Lstat(filepath.Join(w.stagingRoot(), ".partial-cats")); err == nil {
		t.Errorf("a partial copy is left behind")
	}
	w.assertExactCopy()
}
