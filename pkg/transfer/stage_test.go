package transfer

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/agenttest"
	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/podexec"
)

// world is a local dataset, a folder standing in for the shared volume, and
// the real stage agent running in-process against it.
type world struct {
	t      *testing.T
	local  string
	volume string
	runner *agenttest.Runner
	// lazy: nothing is hashed before the stream (a push's first push):
	// files are hashed as they are sent, or before the plan where the
	// volume has one of the same name.
	lazy bool
}

func newWorld(t *testing.T) *world {
	vol := t.TempDir()
	w := &world{t: t, local: t.TempDir(), volume: vol, runner: &agenttest.Runner{Volume: vol}}
	if err := fixture.Write(w.local, fixture.Options{Images: 6, Width: 40, Height: 40, Noise: true}); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) agent() *podexec.RemoteAgent {
	w.t.Helper()
	a, err := podexec.Deliver(context.Background(), w.runner)
	if err != nil {
		w.t.Fatal(err)
	}
	return a
}

func (w *world) options(ctx context.Context) Options {
	w.t.Helper()
	ds, err := dataset.Check(w.local, dataset.Options{LabelColumn: "label", Limits: dataset.DefaultLimits})
	if err != nil {
		w.t.Fatal(err)
	}
	local := NewLocal(ds.Files)
	if !w.lazy {
		if local, err = HashFiles(ds.Root, ds.Files); err != nil {
			w.t.Fatal(err)
		}
	}
	// The stream is plain tar here, so that tests can damage a named
	// entry on the way; compression has tests of its own.
	return Options{Root: ds.Root, Files: ds.Files, Local: local, Table: "cats", Nonce: "push-1",
		Agent: w.agent(), Compress: CompressNever}
}

func (w *world) push() (*Result, error) {
	w.t.Helper()
	return Sync(context.Background(), w.options(context.Background()))
}

func (w *world) stagingRoot() string { return filepath.Join(w.volume, proto.StagingDir) }

func (w *world) staged() string { return filepath.Join(w.stagingRoot(), "cats") }

// inventory runs the agent's stage command with an empty stream and returns
// its inventory.
func (w *world) inventory() proto.Message {
	w.t.Helper()
	var inv proto.Message
	_ = w.agent().Run(context.Background(), []string{proto.CmdStage, "--table", "cats", "--nonce", "look"}, strings.NewReader(""),
		func(m proto.Message) {
			if m.T == proto.MsgInventory {
				inv = m
			}
		}, nil)
	if inv.T == "" {
		w.t.Fatal("no inventory")
	}
	return inv
}

// tree lists every file under dir with its content.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (w *world) assertExactCopy() {
	w.t.Helper()
	if diff := cmp.Diff(tree(w.t, w.local), tree(w.t, w.staged())); diff != "" {
		w.t.Fatalf("staged copy differs from the local dataset (-local +staged):\n%s", diff)
	}
	entries, err := os.ReadDir(w.stagingRoot())
	if err != nil {
		w.t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	if diff := cmp.Diff([]string{".cats.manifest", "cats"}, names); diff != "" {
		w.t.Errorf("staging folder holds leftovers (-want +got):\n%s", diff)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	must(t, err)
	return b
}

func TestStageFirstPush(t *testing.T) {
	w := newWorld(t)
	res, err := w.push()
	if err != nil {
		t.Fatal(err)
	}
	w.assertExactCopy()
	if res.SentFiles != 7 || res.Verified != 7 || res.Reused != 0 || res.Rounds != 1 {
		t.Errorf("result = %+v, want 7 sent, 7 verified, 0 reused, 1 round", res)
	}
}

func TestStageUnchangedRepushSendsNothing(t *testing.T) {
	w := newWorld(t)
	if _, err := w.push(); err != nil {
		t.Fatal(err)
	}
	res, err := w.push()
	if err != nil {
		t.Fatal(err)
	}
	w.assertExactCopy()
	if res.SentFiles != 0 || res.SentBytes != 0 || res.Reused != 7 || res.Verified != 7 {
		t.Errorf("result = %+v, want nothing sent and 7 reused", res)
	}
}

func TestStageChangedRepush(t *testing.T) {
	w := newWorld(t)
	if _, err := w.push(); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(w.local, "images")
	must(t, os.Remove(filepath.Join(img, "img_00005.jpg")))
	must(t, os.WriteFile(filepath.Join(img, "img_00000.jpg"), mustRead(t, filepath.Join(img, "img_00001.jpg")), 0o644))
	must(t, os.WriteFile(filepath.Join(img, "new one.jpg"), mustRead(t, filepath.Join(img, "img_00002.jpg")), 0o644))
	must(t, os.WriteFile(filepath.Join(w.local, "labels.csv"),
		[]byte("filename,label\nimg_00000.jpg,cat\nimg_00001.jpg,dog\nimg_00002.jpg,cat\nimg_00003.jpg,dog\nimg_00004.jpg,cat\nnew one.jpg,dog\n"), 0o644))
	res, err := w.push()
	if err != nil {
		t.Fatal(err)
	}
	w.assertExactCopy()
	if res.SentFiles != 3 || res.Reused != 4 {
		t.Errorf("result = %+v, want 3 sent (labels.csv, img_00000, new one) and 4 reused", res)
	}
}

func TestStageResumesPartialCopy(t *testing.T) {
	w := newWorld(t)
	partial := filepath.Join(w.stagingRoot(), ".partial-cats", "data")
	must(t, os.MkdirAll(filepath.Join(partial, "images"), 0o755))
	for _, n := range []string{"img_00000.jpg", "img_00001.jpg"} {
		must(t, os.WriteFile(filepath.Join(partial, "images", n), mustRead(t, filepath.Join(w.local, "images", n)), 0o644))
	}
	must(t, os.WriteFile(filepath.Join(partial, "images", "img_00002.jpg"), []byte("half a file"), 0o644))
	must(t, os.WriteFile(filepath.Join(partial, "images", "gone.jpg"), []byte("stale"), 0o644))
	res, err := w.push()
	if err != nil {
		t.Fatal(err)
	}
	w.assertExactCopy()
	if res.Resumed != 2 || res.SentFiles != 5 {
		t.Errorf("result = %+v, want 2 resumed and 5 sent", res)
	}
}

func TestStageTamperedStagedCopyIsResent(t *testing.T) {
	w := newWorld(t)
	if _, err := w.push(); err != nil {
		t.Fatal(err)
	}
	must(t, os.WriteFile(filepath.Join(w.staged(), "images", "img_00003.jpg"), []byte("tampered"), 0o644))
	res, err := w.push()
	if err != nil {
		t.Fatal(err)
	}
	w.assertExactCopy()
	if res.SentFiles != 1 || res.Reused != 6 {
		t.Errorf("result = %+v, want the tampered file sent and 6 reused", res)
	}
}

// TestStageForgedManifestCannotMakeAWrongCopy changes a staged file and
// forges its manifest entry to match (size, times, inode and the old hash),
// so only the verification of the new copy can notice.
func TestStageForgedManifestCannotMakeAWrongCopy(t *testing.T) {
	w := newWorld(t)
	if _, err := w.push(); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(w.staged(), "images", "img_00004.jpg")
	f, err := os.OpenFile(victim, os.O_WRONLY, 0)
	must(t, err)
	_, err = f.WriteAt([]byte("XXXX"), 100)
	must(t, err)
	must(t, f.Close())
	// Re-stamp the manifest with what stat says now, keeping the old hash.
	manifest := filepath.Join(w.stagingRoot(), ".cats.manifest")
	man := manifestSums(t, manifest)
	inv := w.inventory() // hashes the victim: its stat no longer matches
	fresh := inv.Staged["images/img_00004.jpg"]
	if fresh == man["images/img_00004.jpg"] {
		t.Fatal("the inventory did not notice the changed file")
	}
	res, err := w.push()
	if err != nil {
		t.Fatal(err)
	}
	w.assertExactCopy()
	if res.SentFiles != 1 {
		t.Errorf("result = %+v, want the changed file re-sent", res)
	}
}

// zero is a hash no file has.
var zero = strings.Repeat("0", 64)

// manifestSums reads the staged copy's manifest (a header line, then
// "<sha256> <size> <mtime> <ctime> <inode> <path>" per file): path to hash.
func manifestSums(t *testing.T, manifest string) map[string]string {
	t.Helper()
	sums := map[string]string{}
	lines := strings.Split(strings.TrimSuffix(string(mustRead(t, manifest)), "\n"), "\n")
	for _, l := range lines[1:] {
		f := strings.SplitN(l, " ", 6)
		if len(f) != 6 {
			t.Fatalf("manifest line %q", l)
		}
		sums[f[5]] = f[0]
	}
	return sums
}

// forgeManifestHashes sets every hash of the staged copy's manifest to sum,
// keeping each entry's stat, and returns how many entries it has.
func (w *world) forgeManifestHashes(sum string) int {
	w.t.Helper()
	manifest := filepath.Join(w.stagingRoot(), ".cats.manifest")
	lines := strings.Split(strings.TrimSuffix(string(mustRead(w.t, manifest)), "\n"), "\n")
	for i := 1; i < len(lines); i++ {
		lines[i] = sum + lines[i][64:]
	}
	must(w.t, os.WriteFile(manifest, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
	return len(lines) - 1
}

func TestStageManifestIsTrustedOnlyAsAHint(t *testing.T) {
	w := newWorld(t)
	if _, err := w.push(); err != nil {
		t.Fatal(err)
	}
	// Forge every hash: the inventory must report the forged values, which
	// proves it read them instead of hashing, and the push must still end
	// in an exact copy.
	if n := w.forgeManifestHashes(zero); n != 7 {
		t.Fatalf("manifest has %d entries, want 7", n)
	}
	inv := w.inventory()
	if len(inv.Staged) != 7 || inv.Staged["labels.csv"] != zero {
		t.Fatalf("inventory did not come from the manifest: %v", inv.Staged)
	}
	res, err := w.push()
	if err != nil {
		t.Fatal(err)
	}
	w.assertExactCopy()
	if res.SentFiles != 7 {
		t.Errorf("result = %+v: with every hash forged, every file must be sent", res)
	}
}

func TestStageCorruptStreamIsCaughtAndResent(t *testing.T) {
	w := newWorld(t)
	w.runner.CorruptEntry, w.runner.Corrupt = "data/images/img_00001.jpg", 1
	res, err := w.push()
	if err != nil {
		t.Fatal(err)
	}
	w.assertExactCopy()
	if res.Rounds != 2 || res.SentFiles != 8 {
		t.Errorf("result = %+v, want a second round that re-sent the corrupted file", res)
	}
}

func TestStageCorruptionThatPersistsFailsAndKeepsOldCopy(t *testing.T) {
	w := newWorld(t)
	if _, err := w.push(); err != nil {
		t.Fatal(err)
	}
	before := tree(t, w.staged())
	must(t, os.WriteFile(filepath.Join(w.local, "images", "img_00001.jpg"), mustRead(t, filepath.Join(w.local, "images", "img_00002.jpg")), 0o644))
	w.runner.CorruptEntry, w.runner.Corrupt = "data/images/img_00001.jpg", 10
	_, err := w.push()
	if err == nil || exitcode.Of(err) != exitcode.Staging || !strings.Contains(err.Error(), "still differ") {
		t.Fatalf("err = %v (exit %d), want a staging error about differing files", err, exitcode.Of(err))
	}
	if diff := cmp.Diff(before, tree(t, w.staged())); diff != "" {
		t.Errorf("the previous staged copy changed (-before +after):\n%s", diff)
	}
}

func TestEntryName(t *testing.T) {
	tests := []struct {
		rel, want string
		bad       bool
	}{
		{rel: "labels.csv", want: "data/labels.csv"},
		{rel: "images/a b,c'd\".JPG", want: "data/images/a b,c'd\".JPG"},
		{rel: "images/kätzchen.png", want: "data/images/kätzchen.png"},
		{rel: "annotations/a.xml", want: "data/annotations/a.xml"},
		{rel: "../etc/passwd", bad: true},
		{rel: "/etc/passwd", bad: true},
		{rel: "images/../../x", bad: true},
		{rel: "images//x", bad: true},
		{rel: "images/a/b", bad: true},
		{rel: "", bad: true},
		{rel: ".", bad: true},
		{rel: "images\\..\\x", bad: true},
		{rel: "images/a\nb", bad: true},
		{rel: "images/\xff.jpg", bad: true},
	}
	for _, tt := range tests {
		got, err := EntryName(tt.rel)
		if tt.bad != (err != nil) || got != tt.want {
			t.Errorf("EntryName(%q) = %q, %v; want %q, bad=%v", tt.rel, got, err, tt.want, tt.bad)
		}
	}
}

func TestStageRecoversACutSwap(t *testing.T) {
	w := newWorld(t)
	if _, err := w.push(); err != nil {
		t.Fatal(err)
	}
	before := tree(t, w.staged())
	aside := filepath.Join(w.stagingRoot(), ".old-cats-4242")
	must(t, os.Rename(w.staged(), aside))
	w.inventory()
	if diff := cmp.Diff(before, tree(t, w.staged())); diff != "" {
		t.Errorf("the copy set aside was not put back (-before +after):\n%s", diff)
	}
	if _, err := os.Stat(aside); !os.IsNotExist(err) {
		t.Errorf("%s still exists: %v", aside, err)
	}
}

// stallRunner runs the agent, but its stream never reaches it, as over a
// dead connection.
type stallRunner struct{ inner *agenttest.Runner }

func (s *stallRunner) Run(ctx context.Context, command []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if command[0] == "sh" {
		return s.inner.Run(ctx, command, stdin, stdout, stderr)
	}
	never, hold := io.Pipe()
	defer hold.Close()
	return s.inner.Run(ctx, command, never, stdout, stderr)
}

func TestStageStalledStreamIsBroken(t *testing.T) {
	w := newWorld(t)
	o := w.options(context.Background())
	a, err := podexec.Deliver(context.Background(), &stallRunner{inner: w.runner})
	must(t, err)
	o.Agent, o.StallTimeout = a, 300*time.Millisecond
	_, err = Sync(context.Background(), o)
	var se *StreamError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "nothing was sent for too long (300ms)") {
		t.Fatalf("err = %v, want a StreamError for the stall", err)
	}
}

func TestStageInterruptKeepsWholeFilesForResume(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithCancel(context.Background())
	o := w.options(ctx)
	var sent int64
	o.Progress = func(n int64) {
		if sent += n; sent > 6000 {
			cancel()
		}
	}
	_, err := Sync(ctx, o)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	dirs, err := filepath.Glob(filepath.Join(w.stagingRoot(), ".partial-cats", "data-*"))
	if err != nil || len(dirs) != 1 {
		t.Fatalf("partial copy: %v %v, want one data folder", dirs, err)
	}
	partial := tree(t, dirs[0])
	local := tree(t, w.local)
	if len(partial) == 0 || len(partial) == len(local) {
		t.Fatalf("partial copy holds %d of %d files, want some but not all", len(partial), len(local))
	}
	for rel, content := range partial {
		if local[rel] != content {
			t.Errorf("partial %s is not a whole copy", rel)
		}
	}
	if _, err := os.Stat(w.staged()); !os.IsNotExist(err) {
		t.Errorf("an interrupted first push created the staged copy: %v", err)
	}
	res, err := w.push()
	if err != nil {
		t.Fatal(err)
	}
	w.assertExactCopy()
	if res.Resumed != len(partial) {
		t.Errorf("resumed %d files, want the %d of the partial copy", res.Resumed, len(partial))
	}
}

func TestStageDropsStalePartialsOfOtherTables(t *testing.T) {
	w := newWorld(t)
	stale := filepath.Join(w.stagingRoot(), ".partial-dogs", "data")
	fresh := filepath.Join(w.stagingRoot(), ".partial-birds", "data")
	for _, d := range []string{stale, fresh} {
		must(t, os.MkdirAll(d, 0o755))
		must(t, os.WriteFile(filepath.Join(d, "labels.csv"), []byte("x"), 0o644))
	}
	old := time.Now().Add(-8 * 24 * time.Hour)
	must(t, os.Chtimes(filepath.Dir(stale), old, old))
	if _, err := w.push(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(stale)); !os.IsNotExist(err) {
		t.Errorf("a partial folder 8 days old was kept: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a fresh partial folder of another table was removed: %v", err)
	}
}

func TestStageLostLockStopsBeforeTheSwap(t *testing.T) {
	w := newWorld(t)
	if _, err := w.push(); err != nil {
		t.Fatal(err)
	}
	before := tree(t, w.staged())
	must(t, os.WriteFile(filepath.Join(w.local, "images", "img_00001.jpg"), mustRead(t, filepath.Join(w.local, "images", "img_00002.jpg")), 0o644))
	o := w.options(context.Background())
	o.BeforeSwap = func(context.Context) error {
		return exitcode.Errorf(exitcode.Staging, "the push lost its lease")
	}
	_, err := Sync(context.Background(), o)
	if exitcode.Of(err) != exitcode.Staging || !strings.Contains(err.Error(), "lost its lease") {
		t.Fatalf("err = %v (exit %d), want exit 7 naming the lost lease", err, exitcode.Of(err))
	}
	if diff := cmp.Diff(before, tree(t, w.staged())); diff != "" {
		t.Errorf("the staged copy changed without the lock (-before +after):\n%s", diff)
	}
	// The verified copy waits for the next push, which sends nothing.
	res, err := w.push()
	must(t, err)
	w.assertExactCopy()
	if res.SentFiles != 0 {
		t.Errorf("result = %+v, want the verified partial copy reused", res)
	}
}

func TestStageRefusesAnIngestedTable(t *testing.T) {
	w := newWorld(t)
	must(t, os.MkdirAll(filepath.Join(w.volume, "cats"), 0o755))
	must(t, os.WriteFile(filepath.Join(w.volume, "cats", "x"), []byte("in"), 0o644))
	res, err := w.push()
	if exitcode.Of(err) != exitcode.TableExists || !strings.Contains(err.Error(), "--table") || res != nil {
		t.Fatalf("res = %+v, err = %v (exit %d), want exit 6 naming --table", res, err, exitcode.Of(err))
	}
	if _, err := os.Stat(w.staged()); !os.IsNotExist(err) {
		t.Errorf("a staged copy was made: %v", err)
	}
	if entries, err := os.ReadDir(w.stagingRoot()); err != nil || len(entries) != 0 {
		t.Errorf("the refused push left %v in the staging folder (%v)", entries, err)
	}
}

func TestDeliverRefusesAnUnknownArchitecture(t *testing.T) {
	w := newWorld(t)
	w.runner.Machine = "s390x"
	_, err := podexec.Deliver(context.Background(), w.runner)
	var de *podexec.DeliveryError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "s390x") || !strings.Contains(err.Error(), "amd64 or arm64") {
		t.Fatalf("err = %v, want a DeliveryError naming the machine and the way out", err)
	}
}

// After a push that linked files from the previous copy, the manifest still
// describes every file as it is (removing the previous copy changed the
// linked files' stat): the next inventory takes all of them from it.
func TestStageManifestAfterARepushWithLinks(t *testing.T) {
	w := newWorld(t)
	if _, err := w.push(); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(w.local, "images")
	must(t, os.WriteFile(filepath.Join(img, "img_00001.jpg"), mustRead(t, filepath.Join(img, "img_00002.jpg")), 0o644))
	res, err := w.push()
	if err != nil {
		t.Fatal(err)
	}
	if res.Reused != 6 {
		t.Fatalf("result = %+v, want 6 files linked from the previous copy", res)
	}
	w.forgeManifestHashes(zero)
	inv := w.inventory()
	for rel, sum := range inv.Staged {
		if sum != zero {
			t.Errorf("%s was hashed again: its manifest entry did not match its stat", rel)
		}
	}
	if len(inv.Staged) != 7 {
		t.Errorf("inventory has %d files, want 7", len(inv.Staged))
	}
}

// Without hashing before the stream, every case still ends in an exact copy
// and sends only what the volume lacks: files the volume holds under the
// same name are hashed before the plan, the others as they are sent, and
// their hashes follow the files.
func TestStageHashingAsSent(t *testing.T) {
	img := func(w *world, n string) string { return filepath.Join(w.local, "images", n) }
	tests := []struct {
		name          string
		before        func(t *testing.T, w *world)
		sent, resumed int
		rounds        int
	}{
		{"first push", func(*testing.T, *world) {}, 7, 0, 1},
		{"unchanged re-push", func(t *testing.T, w *world) {
			if _, err := w.push(); err != nil {
				t.Fatal(err)
			}
		}, 0, 0, 1},
		{"one file changed", func(t *testing.T, w *world) {
			if _, err := w.push(); err != nil {
				t.Fatal(err)
			}
			must(t, os.WriteFile(img(w, "img_00001.jpg"), mustRead(t, img(w, "img_00002.jpg")), 0o644))
		}, 1, 0, 1},
		{"an interrupted push resumed", func(t *testing.T, w *world) {
			partial := filepath.Join(w.stagingRoot(), ".partial-cats", "data", "images")
			must(t, os.MkdirAll(partial, 0o755))
			must(t, os.WriteFile(filepath.Join(partial, "img_00000.jpg"), mustRead(t, img(w, "img_00000.jpg")), 0o644))
			must(t, os.WriteFile(filepath.Join(partial, "img_00003.jpg"), []byte("half a file"), 0o644))
		}, 6, 1, 1},
		{"corrupted on the way, re-sent", func(t *testing.T, w *world) {
			w.runner.CorruptEntry, w.runner.Corrupt = "data/images/img_00001.jpg", 1
		}, 8, 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.lazy = true
			tt.before(t, w)
			res, err := w.push()
			if err != nil {
				t.Fatal(err)
			}
			w.assertExactCopy()
			if res.SentFiles != tt.sent || res.Resumed != tt.resumed || res.Rounds != tt.rounds {
				t.Errorf("result = %+v, want %d sent, %d resumed, %d rounds", res, tt.sent, tt.resumed, tt.rounds)
			}
		})
	}
}
