//go:build linux

package transfer

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent"
	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/agenttest"
	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
	"github.com/tracebloc/kubectl-tracebloc/pkg/podexec"
)

// csvBytes is n bytes of CSV-like rows from seed.
func csvBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	var b bytes.Buffer
	for row := 0; b.Len() < n; row++ {
		fmt.Fprintf(&b, "%d,%.6f,%d,label%d\n", row, r.Float64()*1000, r.IntN(1<<30), r.IntN(7))
	}
	return b.Bytes()[:n]
}

// chunkListOf cuts staged as the agent's inventory does.
func chunkListOf(t *testing.T, staged []byte) *proto.ChunkList {
	t.Helper()
	bits, lo, hi := proto.ChunkParamsFor(int64(len(staged)))
	l := &proto.ChunkList{Size: int64(len(staged)), Bits: bits, Min: lo, Max: hi}
	must(t, proto.CutChunks(bytes.NewReader(staged), bits, lo, hi, make([]byte, hi), func(n int64, sum [32]byte) {
		l.Chunks = append(l.Chunks, proto.ChunkRef{Len: n, Sum: hex.EncodeToString(sum[:])})
	}))
	return l
}

// build is what the agent makes of ops: copied ranges of staged, the rest
// from local.
func build(ops []recipeOp, staged, local []byte) []byte {
	var out []byte
	for _, op := range ops {
		if op.copy {
			out = append(out, staged[op.src:op.src+op.n]...)
		} else {
			out = append(out, local[op.at:op.at+op.n]...)
		}
	}
	return out
}

// TestRecipeSendsAboutTheChange: the local file is rebuilt exactly from the
// staged one and the ops, and what goes out is about the size of the
// change (a few chunks of 64 KiB on average), wherever it is.
func TestRecipeSendsAboutTheChange(t *testing.T) {
	staged := csvBytes(8<<20, 1)
	mid := len(staged) / 2
	edit := func() []byte {
		b := bytes.Clone(staged)
		for _, at := range []int{mid, mid + 5000, mid + 9000} {
			copy(b[at:], "9999999")
		}
		return b
	}
	cases := []struct {
		name    string
		local   []byte
		changed int
	}{
		{"three rows edited in the middle", edit(), 9007},
		{"one percent appended", append(bytes.Clone(staged), csvBytes(len(staged)/100, 2)...), len(staged) / 100},
		{"a block deleted", append(bytes.Clone(staged[:mid]), staged[mid+300000:]...), 0},
		{"rows inserted at the start", append(csvBytes(20000, 3), staged...), 20000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			list := chunkListOf(t, staged)
			rc, err := makeRecipe(bytes.NewReader(c.local), list)
			must(t, err)
			if rc == nil {
				t.Fatal("no recipe: no chunk of the staged file was found in the local one")
			}
			if got := build(rc.ops, staged, c.local); !bytes.Equal(got, c.local) {
				t.Fatalf("the recipe builds %d bytes that differ from the local file's %d", len(got), len(c.local))
			}
			copied, sent, _ := recipeSizes(rc.ops)
			t.Logf("%d bytes: %d sent, %d copied", len(c.local), sent, copied)
			// The chunk around each end of the change travels: on average
			// 64 KiB each, at most 512 KiB.
			if limit := int64(c.changed) + 4*list.Max/8*4; sent > limit || copied+sent != int64(len(c.local)) {
				t.Errorf("sent %d and copied %d of %d bytes: want at most %d sent (the change and the chunks around it)", sent, copied, len(c.local), limit)
			}
		})
	}
}

// TestRecipeFromAnOffset: a file the stream continues is built from its
// offset on by the same recipe, cut there.
func TestRecipeFromAnOffset(t *testing.T) {
	staged := csvBytes(4<<20, 4)
	local := append(csvBytes(30000, 5), staged...)
	rc, err := makeRecipe(bytes.NewReader(local), chunkListOf(t, staged))
	must(t, err)
	for _, off := range []int64{1, 29999, 30000, 1 << 20, int64(len(local)) - 1} {
		if got := build(rc.from(off), staged, local); !bytes.Equal(got, local[off:]) {
			t.Fatalf("from %d: the recipe builds %d bytes that differ from the file's last %d", off, len(got), len(local[off:]))
		}
	}
}

// TestRecipeRefusesAMalformedList: a list whose chunks do not add up to the
// staged file, or with sizes the agent does not use, gives no recipe.
func TestRecipeRefusesAMalformedList(t *testing.T) {
	staged := csvBytes(1<<20, 6)
	for name, spoil := range map[string]func(l *proto.ChunkList){
		"wrong_size":   func(l *proto.ChunkList) { l.Size++ },
		"odd_bits":     func(l *proto.ChunkList) { l.Bits = 4 },
		"bad_digest":   func(l *proto.ChunkList) { l.Chunks[0].Sum = "zz" },
		"chunk_to_big": func(l *proto.ChunkList) { l.Chunks[0].Len = l.Max + 1 },
	} {
		l := chunkListOf(t, staged)
		spoil(l)
		if rc, err := makeRecipe(bytes.NewReader(staged), l); rc != nil || err != nil {
			t.Errorf("%s: a recipe (%v, %v) from a malformed list", name, rc, err)
		}
	}
}

// bigWorld is a dataset with one big image, pushed once; recipes start at
// 1 MiB.
func bigWorld(t *testing.T) (*world, string) {
	t.Helper()
	t.Setenv(chunkMinEnv, "1048576")
	vol := t.TempDir()
	w := &world{t: t, local: t.TempDir(), volume: vol, runner: &agenttest.Runner{Volume: vol}}
	must(t, fixture.Write(w.local, fixture.Options{Images: 2, Width: 1100, Height: 1100, Ext: ".png", Noise: true}))
	_, err := w.push()
	must(t, err)
	o := w.options(context.Background())
	big := o.Files[0]
	for _, f := range o.Files {
		if f.Size > big.Size {
			big = f
		}
	}
	if big.Size < 2<<20 {
		t.Fatalf("the biggest image has %d bytes, want more than 2 MiB", big.Size)
	}
	return w, big.Rel
}

// editMiddle changes a few bytes in the middle of the local file rel and
// a few near its end, so that its last chunk is sent (same size: the
// image's header, what the pre-flight reads, stays).
func (w *world) editMiddle(rel string) int64 {
	p := filepath.Join(w.local, rel)
	b := mustRead(w.t, p)
	for _, at := range []int{len(b) / 2, len(b) - 100} {
		for i := at; i < at+64; i++ {
			b[i] ^= 0x5a
		}
	}
	must(w.t, os.WriteFile(p, b, 0o644))
	return int64(len(b))
}

// TestStageSendsOnlyTheChangedChunks: a big file edited in the middle is
// sent as a recipe against the staged copy: a few chunks travel, the rest
// is copied on the volume, and the staged copy is exact.
func TestStageSendsOnlyTheChangedChunks(t *testing.T) {
	for _, compress := range []string{CompressNever, CompressAlways} {
		t.Run(compress, func(t *testing.T) {
			w, rel := bigWorld(t)
			size := w.editMiddle(rel)
			o := w.options(context.Background())
			o.Compress = compress
			res, err := Sync(context.Background(), o)
			must(t, err)
			w.assertExactCopy()
			t.Logf("%s (%d bytes): sent %d, copied %d, wire %d", rel, size, res.SentBytes, res.ChunkBytes, res.WireBytes)
			if res.ChunkBytes < size*3/4 || res.SentBytes+res.ChunkBytes != size || res.WireBytes > size/4 || res.Rounds != 1 {
				t.Errorf("sent %d, copied %d of %d bytes in %d rounds, wire %d: want most of it copied, one round", res.SentBytes, res.ChunkBytes, size, res.Rounds, res.WireBytes)
			}
		})
	}
}

// tamperRunner runs the agent and, once its inventory is out, does
// tamper to the volume: between the cut of the staged file and the
// recipe.
type tamperRunner struct {
	inner  *agenttest.Runner
	tamper func()
	done   bool
	// seen, when set, gets the inventory's line.
	seen func(line string)
}

func (r *tamperRunner) Run(ctx context.Context, command []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return r.inner.Run(ctx, command, stdin, tamperWriter{w: stdout, r: r}, stderr)
}

type tamperWriter struct {
	w io.Writer
	r *tamperRunner
}

func (t tamperWriter) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	if !t.r.done && strings.Contains(string(p), `"t":"inventory"`) {
		t.r.done = true
		if t.r.seen != nil {
			t.r.seen(string(p))
		}
		t.r.tamper()
	}
	return n, err
}

// TestStageNeverTrustsAStagedFileChangedAfterItsCut: the staged file a
// recipe copies from, replaced by a link or rewritten after the inventory
// cut it, is not copied from: the file is sent whole in a second round and
// the copy is exact.
func TestStageNeverTrustsAStagedFileChangedAfterItsCut(t *testing.T) {
	cases := map[string]func(staged string){
		"replaced_by_a_link": func(staged string) {
			// The same bytes, through a symbolic link: still never followed.
			b, err := os.ReadFile(staged)
			must(t, err)
			other := filepath.Join(strings.SplitN(staged, proto.StagingDir, 2)[0], "elsewhere")
			must(t, os.WriteFile(other, b, 0o644))
			must(t, os.Remove(staged))
			must(t, os.Symlink(other, staged))
		},
		"rewritten": func(staged string) {
			b, err := os.ReadFile(staged)
			must(t, err)
			for i := range b {
				b[i] = 'x'
			}
			must(t, os.WriteFile(staged, b, 0o644))
		},
	}
	for name, tamper := range cases {
		t.Run(name, func(t *testing.T) {
			w, rel := bigWorld(t)
			size := w.editMiddle(rel)
			tr := &tamperRunner{inner: w.runner, tamper: func() { tamper(filepath.Join(w.staged(), rel)) }}
			res, err := Sync(context.Background(), w.optionsThrough(tr))
			must(t, err)
			if !tr.done {
				t.Fatal("the volume was never tampered with")
			}
			w.assertExactCopy()
			if res.Rounds != 2 || res.SentBytes < size {
				t.Errorf("sent %d bytes of the %d-byte file in %d rounds: want it sent whole in a second round", res.SentBytes, size, res.Rounds)
			}
		})
	}
}

// countRunner counts the stream the stage command reads.
type countRunner struct {
	inner *agenttest.Runner
	n     int64
}

func (c *countRunner) Run(ctx context.Context, command []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if command[0] != "sh" && command[1] == proto.CmdStage {
		stdin = io.TeeReader(stdin, progressWriter(func(n int64) { c.n += n }))
	}
	return c.inner.Run(ctx, command, stdin, stdout, stderr)
}

// TestStageContinuesARecipeCutMidStream: a recipe's stream that breaks off
// inside its new bytes is continued by the next push from the agent's
// checkpoint, again as a recipe (from the offset on): the staged copy is
// exact and nothing the volume holds is sent again.
func TestStageContinuesARecipeCutMidStream(t *testing.T) {
	defer agent.SetCheckpoints(16<<10, 0)()
	// The same world twice: once to measure the recipe's stream, once to
	// cut it half way.
	w, rel := bigWorld(t)
	w.editMiddle(rel)
	cr := &countRunner{inner: w.runner}
	_, err := Sync(context.Background(), w.optionsThrough(cr))
	must(t, err)

	w, rel = bigWorld(t)
	size := w.editMiddle(rel)
	if _, err := Sync(context.Background(), w.optionsThrough(&cutRunner{inner: w.runner, cut: cr.n / 2})); err == nil {
		t.Fatal("the cut stream staged a copy")
	}
	res, err := Sync(context.Background(), w.options(context.Background()))
	must(t, err)
	w.assertExactCopy()
	t.Logf("%s (%d bytes; stream %d, cut at half): resumed %d, copied %d, sent %d", rel, size, cr.n, res.ResumedBytes, res.ChunkBytes, res.SentBytes)
	if res.ResumedBytes == 0 || res.ChunkBytes == 0 || res.ResumedBytes+res.ChunkBytes+res.SentBytes != size || res.Rounds != 1 {
		t.Errorf("resumed %d, copied %d, sent %d of %d bytes in %d rounds: want the file continued from the cut as a recipe, in one round", res.ResumedBytes, res.ChunkBytes, res.SentBytes, size, res.Rounds)
	}
}

// TestStageCutsNoStagedFileThePushHasUnchanged: the push tells the agent
// the hashes of its big files it knows without reading them; a staged file
// with the same name and hash is linked, and the agent does not read it
// whole to cut it. A changed one is cut.
func TestStageCutsNoStagedFileThePushHasUnchanged(t *testing.T) {
	w, rel := bigWorld(t)
	for _, edit := range []bool{false, true} {
		if edit {
			w.editMiddle(rel)
		}
		var inv string
		tr := &tamperRunner{inner: w.runner}
		tr.tamper = func() {}
		tr.seen = func(line string) { inv = line }
		res, err := Sync(context.Background(), w.optionsThrough(tr))
		must(t, err)
		w.assertExactCopy()
		if cut := strings.Contains(inv, `"chunks":`); cut != edit || (res.ChunkBytes > 0) != edit {
			t.Errorf("edited %v: the inventory cut the staged file: %v, %d bytes copied from its chunks; want a cut and a recipe exactly when the local file changed", edit, cut, res.ChunkBytes)
		}
	}
}

// optionsThrough are the options of a push whose agent runs through r.
func (w *world) optionsThrough(r podexec.Runner) Options {
	w.t.Helper()
	o := w.options(context.Background())
	a, err := podexec.Deliver(context.Background(), r)
	must(w.t, err)
	o.Agent = a
	return o
}
