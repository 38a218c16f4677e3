//go:build linux

package transfer

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/agenttest"
	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
)

// midRecipeRunner hands the stage command its stream in small pieces and,
// once the agent has read a few KiB past the recipe's header (its staged
// source open, the copy of the file's end not done yet), does tamper.
type midRecipeRunner struct {
	inner  *agenttest.Runner
	tamper func()
	done   bool
}

func (m *midRecipeRunner) Run(ctx context.Context, command []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if command[0] != "sh" && command[1] == proto.CmdStage && !m.done {
		stdin = &midRecipeReader{r: stdin, m: m, marker: -1}
	}
	return m.inner.Run(ctx, command, stdin, stdout, stderr)
}

type midRecipeReader struct {
	r      io.Reader
	m      *midRecipeRunner
	seen   []byte
	marker int
}

func (t *midRecipeReader) Read(p []byte) (int, error) {
	// 1 KiB at a time: the agent's buffers read little ahead of what it
	// has used.
	n, err := t.r.Read(p[:min(len(p), 1<<10)])
	if t.m.done {
		return n, err
	}
	t.seen = append(t.seen, p[:n]...)
	if t.marker < 0 {
		t.marker = bytes.Index(t.seen, []byte(proto.PAXRecipe))
	}
	if t.marker >= 0 && len(t.seen) > t.marker+6<<10 {
		t.m.done = true
		t.m.tamper()
	}
	return n, err
}

// TestStageRecipeSourceTruncatedMidStreamIsSentWhole: the staged file a
// recipe copies from, cut short by another writer after the agent opened
// it for the recipe, is not a failed push: the file is sent whole in a
// second round and the copy is exact.
func TestStageRecipeSourceTruncatedMidStreamIsSentWhole(t *testing.T) {
	w, rel := bigWorld(t)
	size := w.editMiddle(rel)
	mr := &midRecipeRunner{inner: w.runner}
	mr.tamper = func() { must(t, os.Truncate(filepath.Join(w.staged(), rel), 4096)) }
	o := w.optionsThrough(mr)
	o.Compress = CompressNever
	res, err := Sync(context.Background(), o)
	if !mr.done {
		t.Fatal("the staged file was never tampered with")
	}
	must(t, err)
	w.assertExactCopy()
	if res.Rounds != 2 || res.SentBytes < size {
		t.Errorf("sent %d bytes of the %d-byte file in %d rounds: want it sent whole in a second round", res.SentBytes, size, res.Rounds)
	}
}

// TestTwoPushesOfOneTableRecipeAndKeep: two users push one table at once:
// one a changed big file as a recipe, the other the unchanged dataset,
// kept in place, in the middle of the first (after its inventory cut the
// staged file). The first is fenced off and says so; the staged copy is
// the second's exactly; the first, pushed again, lands exactly.
func TestTwoPushesOfOneTableRecipeAndKeep(t *testing.T) {
	w, rel := bigWorld(t)
	cache := t.TempDir()
	if _, err := w.sealedPush(cache); err != nil {
		t.Fatal(err)
	}
	// The other user's folder: the dataset as pushed.
	// Its own stage Pod: the same volume, another Pod's lock.
	pod := filepath.Join(t.TempDir(), "volume")
	must(t, os.Symlink(w.volume, pod))
	other := &world{t: t, local: t.TempDir(), volume: w.volume, runner: &agenttest.Runner{Volume: pod}}
	must(t, os.CopyFS(other.local, os.DirFS(w.local)))
	w.editMiddle(rel)
	var otherRes *Result
	var otherErr error
	tr := &tamperRunner{inner: w.runner, tamper: func() {
		t.Setenv(cacheDirEnv, cache)
		oo := other.options(context.Background())
		oo.Seals, oo.Nonce = OpenSeals(), "push-2"
		otherRes, otherErr = Sync(context.Background(), oo)
	}}
	o := w.optionsThrough(tr)
	_, err := Sync(context.Background(), o)
	if !tr.done {
		t.Fatal("the second push never ran")
	}
	if otherErr != nil || !otherRes.Kept {
		t.Fatalf("the push of the unchanged dataset: %+v, %v; want it kept in place", otherRes, otherErr)
	}
	if err == nil {
		t.Fatal("the recipe push fenced off by the other one swapped its copy in")
	}
	other.assertExactCopy()
	if !strings.Contains(err.Error(), "another push of cats took over") {
		t.Errorf("the fenced push says %q, want it to name the other push that took over", err)
	}
	res, err := w.sealedPush(cache)
	must(t, err)
	w.assertExactCopy()
	if res.ChunkBytes == 0 {
		t.Errorf("the push again sent no recipe: %+v", res)
	}
}
