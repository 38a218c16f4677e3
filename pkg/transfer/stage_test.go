package transfer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	utilexec "k8s.io/client-go/util/exec"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// shellRunner runs the stage scripts with busybox on this machine, against a
// folder that stands in for the shared volume.
type shellRunner struct {
	shell   string
	bin     string
	volume  string
	corrupt int // corrupt the stdin of this many apply runs
	runs    int
}

var applets = []string{"sh", "tar", "sha256sum", "find", "sort", "cmp", "awk", "mv", "rm", "ln", "mkdir", "sed", "cat", "grep", "dirname"}

func newShellRunner(t *testing.T, without ...string) *shellRunner {
	t.Helper()
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("busybox is not installed (apt-get install busybox-static): the stage scripts cannot run locally")
	}
	bin := t.TempDir()
	for _, a := range applets {
		if contains(without, a) {
			continue
		}
		if err := os.Symlink(bb, filepath.Join(bin, a)); err != nil {
			t.Fatal(err)
		}
	}
	// busybox sh finds its own applets whatever PATH says, so a missing tool
	// is tried with the system's POSIX sh.
	shell := filepath.Join(bin, "sh")
	if len(without) > 0 {
		shell = "/bin/sh"
	}
	return &shellRunner{shell: shell, bin: bin, volume: t.TempDir()}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func (r *shellRunner) Run(ctx context.Context, command []string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := exec.CommandContext(ctx, r.shell, command[1:]...)
	cmd.Env = []string{"PATH=" + r.bin, "TRACEBLOC_STAGING_ROOT=" + filepath.Join(r.volume, ".tracebloc-staging")}
	if stdin != nil {
		if command[2] == stageScript {
			if r.runs < r.corrupt {
				stdin = corruptEntry(stdin, "data/images/img_00001.jpg")
			}
			r.runs++
		}
		// Like an exec stream, the run ends with the process, not with
		// stdin: the copy is not waited for.
		in, err := cmd.StdinPipe()
		if err != nil {
			return err
		}
		go func() {
			_, _ = io.Copy(in, stdin)
			_ = in.Close()
		}()
	}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// A cancelled run ends the whole script, its pipelines included.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return utilexec.CodeExitError{Err: err, Code: ee.ExitCode()}
	}
	return err
}

// corruptEntry flips one byte in the data of the named tar entry, as a
// faulty link or disk would. It works block by block as the stream passes
// (the stream only starts once the script has printed its inventory).
func corruptEntry(r io.Reader, name string) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		block := make([]byte, 512)
		flipNext := false
		for {
			n, err := io.ReadFull(r, block)
			if n > 0 {
				if flipNext {
					block[50] ^= 0xff
				}
				flipNext = n == 512 && bytes.HasPrefix(block, []byte(name+"\x00"))
				if _, werr := pw.Write(block[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				if err == io.ErrUnexpectedEOF {
					err = nil
				}
				pw.CloseWithError(err)
				return
			}
		}
	}()
	return pr
}

// inventory runs the stage script with an empty stream and returns what it
// printed before the inventory's end line.
func (w *world) inventory() string {
	w.t.Helper()
	var out, errb bytes.Buffer
	_ = w.runner.Run(context.Background(), []string{"sh", "-c", stageScript, "tracebloc-stage", "cats"}, strings.NewReader(""), &out, &errb)
	inv, _, ok := strings.Cut(out.String(), inventoryEnd+"\n")
	if !ok {
		w.t.Fatalf("no inventory: %s%s", out.String(), errb.String())
	}
	return inv
}

type world struct {
	t      *testing.T
	local  string
	runner *shellRunner
}

func newWorld(t *testing.T, without ...string) *world {
	w := &world{t: t, local: t.TempDir(), runner: newShellRunner(t, without...)}
	if err := fixture.Write(w.local, fixture.Options{Images: 6, Width: 40, Height: 40, Noise: true}); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) push() (*Result, error) {
	w.t.Helper()
	ds, err := dataset.Check(w.local, dataset.Options{LabelColumn: "label", Limits: dataset.DefaultLimits})
	if err != nil {
		w.t.Fatal(err)
	}
	sums, err := HashFiles(ds.Root, ds.Files)
	if err != nil {
		w.t.Fatal(err)
	}
	return Stage(context.Background(), Options{Root: ds.Root, Files: ds.Files, Sums: sums, Table: "cats",
		MaxFileBytes: dataset.DefaultLimits.MaxFileBytes, Runner: w.runner})
}

func (w *world) staged() string { return filepath.Join(w.runner.volume, ".tracebloc-staging", "cats") }

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
	entries, err := os.ReadDir(filepath.Dir(w.staged()))
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
	partial := filepath.Join(w.runner.volume, ".tracebloc-staging", ".partial-cats", "data")
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

// TestStageForgedManifestCannotMakeAWrongCopy rewrites a staged file in place
// (same size, same mtime, same inode: the manifest still matches) so only the
// final verification can notice.
func TestStageForgedManifestCannotMakeAWrongCopy(t *testing.T) {
	w := newWorld(t)
	if _, err := w.push(); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(w.staged(), "images", "img_00004.jpg")
	info, err := os.Stat(victim)
	must(t, err)
	f, err := os.OpenFile(victim, os.O_WRONLY, 0)
	must(t, err)
	_, err = f.WriteAt([]byte("XXXX"), 100)
	must(t, err)
	must(t, f.Close())
	must(t, os.Chtimes(victim, info.ModTime(), info.ModTime()))
	res, err := w.push()
	if err != nil {
		t.Fatal(err)
	}
	w.assertExactCopy()
	if res.Rounds != 2 {
		t.Errorf("result = %+v, want a second round that re-sent the forged file", res)
	}
}

func TestStageManifestSkipsHashingOnInventory(t *testing.T) {
	w := newWorld(t)
	if _, err := w.push(); err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(filepath.Dir(w.staged()), ".cats.manifest")
	b, err := os.ReadFile(manifest)
	must(t, err)
	if n := strings.Count(string(b), "\n"); n != 7 {
		t.Fatalf("manifest has %d lines, want 7:\n%s", n, b)
	}
	// Forge every hash: the inventory must report the forged values, which
	// proves it read them instead of hashing, and the push must still end
	// in an exact copy.
	forged := regexp.MustCompile(`(?m)^[0-9a-f]{64}`).ReplaceAllString(string(b), strings.Repeat("0", 64))
	must(t, os.WriteFile(manifest, []byte(forged), 0o644))
	inv, err := ParseInventory(w.inventory())
	must(t, err)
	if len(inv.Staged) != 7 || inv.Staged["labels.csv"] != strings.Repeat("0", 64) {
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
	w.runner.corrupt = 1
	res, err := w.push()
	if err != nil {
		t.Fatal(err)
	}
	w.assertExactCopy()
	if res.Rounds != 2 || res.SentFiles < 8 {
		t.Errorf("result = %+v, want a second round that re-sent the corrupted file", res)
	}
}

func TestStageCorruptionThatPersistsFailsAndKeepsOldCopy(t *testing.T) {
	w := newWorld(t)
	if _, err := w.push(); err != nil {
		t.Fatal(err)
	}
	before := tree(t, w.staged())
	must(t, os.WriteFile(filepath.Join(w.local, "images", "img_00000.jpg"), bytes.Repeat([]byte{1}, 9000), 0o644))
	must(t, os.WriteFile(filepath.Join(w.local, "images", "img_00001.jpg"), bytes.Repeat([]byte{2}, 9000), 0o644))
	w.runner.corrupt, w.runner.runs = 2, 0
	ds := &dataset.Dataset{Root: w.local}
	files := []dataset.File{}
	for _, rel := range []string{"labels.csv", "images/img_00000.jpg", "images/img_00001.jpg", "images/img_00002.jpg", "images/img_00003.jpg", "images/img_00004.jpg", "images/img_00005.jpg"} {
		info, err := os.Stat(filepath.Join(w.local, rel))
		must(t, err)
		files = append(files, dataset.File{Rel: rel, Size: info.Size()})
	}
	sums, err := HashFiles(ds.Root, files)
	must(t, err)
	_, err = Stage(context.Background(), Options{Root: ds.Root, Files: files, Sums: sums, Table: "cats", MaxFileBytes: 1 << 30, Runner: w.runner})
	if err == nil || exitcode.Of(err) != exitcode.Staging || !strings.Contains(err.Error(), "still differ") {
		t.Fatalf("err = %v (exit %d), want a staging error about differing files", err, exitcode.Of(err))
	}
	if diff := cmp.Diff(before, tree(t, w.staged())); diff != "" {
		t.Errorf("the previous staged copy changed (-before +after):\n%s", diff)
	}
}

func TestStageMissingToolFailsClearly(t *testing.T) {
	w := newWorld(t, "sha256sum")
	_, err := w.push()
	if err == nil || !strings.Contains(err.Error(), "the stage image has no sha256sum") {
		t.Fatalf("err = %v, want a message naming sha256sum", err)
	}
	if code := exitcode.Of(err); code != exitcode.Staging {
		t.Errorf("exit code = %d, want %d", code, exitcode.Staging)
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
		{rel: "../etc/passwd", bad: true},
		{rel: "/etc/passwd", bad: true},
		{rel: "images/../../x", bad: true},
		{rel: "images//x", bad: true},
		{rel: "", bad: true},
		{rel: ".", bad: true},
		{rel: "images\\..\\x", bad: true},
	}
	for _, tt := range tests {
		got, err := EntryName(tt.rel)
		if tt.bad != (err != nil) || got != tt.want {
			t.Errorf("EntryName(%q) = %q, %v; want %q, bad=%v", tt.rel, got, err, tt.want, tt.bad)
		}
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

func TestStageRecoversACutSwap(t *testing.T) {
	w := newWorld(t)
	if _, err := w.push(); err != nil {
		t.Fatal(err)
	}
	before := tree(t, w.staged())
	aside := filepath.Join(filepath.Dir(w.staged()), ".old-cats-4242")
	must(t, os.Rename(w.staged(), aside))
	w.inventory()
	if diff := cmp.Diff(before, tree(t, w.staged())); diff != "" {
		t.Errorf("the copy set aside was not put back (-before +after):\n%s", diff)
	}
	if _, err := os.Stat(aside); !os.IsNotExist(err) {
		t.Errorf("%s still exists: %v", aside, err)
	}
}

// stallRunner runs the script, but its stream never reaches it, as over a
// dead connection.
type stallRunner struct{ inner *shellRunner }

func (s *stallRunner) Run(ctx context.Context, command []string, stdin io.Reader, stdout, stderr io.Writer) error {
	never, hold := io.Pipe()
	defer hold.Close()
	return s.inner.Run(ctx, command, never, stdout, stderr)
}

func TestStageStalledStreamIsBroken(t *testing.T) {
	w := newWorld(t)
	ds, err := dataset.Check(w.local, dataset.Options{LabelColumn: "label", Limits: dataset.DefaultLimits})
	must(t, err)
	sums, err := HashFiles(ds.Root, ds.Files)
	must(t, err)
	_, err = Stage(context.Background(), Options{Root: ds.Root, Files: ds.Files, Sums: sums, Table: "cats",
		MaxFileBytes: 1 << 30, Runner: &stallRunner{inner: w.runner}, StallTimeout: 300 * time.Millisecond})
	var se *StreamError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "nothing was sent for too long (300ms)") {
		t.Fatalf("err = %v, want a StreamError for the stall", err)
	}
}

func TestStageInterruptKeepsWholeFilesForResume(t *testing.T) {
	w := newWorld(t)
	ds, err := dataset.Check(w.local, dataset.Options{LabelColumn: "label", Limits: dataset.DefaultLimits})
	must(t, err)
	sums, err := HashFiles(ds.Root, ds.Files)
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var sent int64
	_, err = Stage(ctx, Options{Root: ds.Root, Files: ds.Files, Sums: sums, Table: "cats", MaxFileBytes: 1 << 30, Runner: w.runner,
		Progress: func(n int64) {
			if sent += n; sent > 6000 {
				cancel()
			}
		}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	partial := tree(t, filepath.Join(filepath.Dir(w.staged()), ".partial-cats", "data"))
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
	root := filepath.Dir(w.staged())
	stale := filepath.Join(root, ".partial-dogs", "data")
	fresh := filepath.Join(root, ".partial-birds", "data")
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

func TestSplitOutputFindsTheEndLineAcrossWrites(t *testing.T) {
	inventory := "S " + strings.Repeat("a", 64) + "  ./labels.csv\nP " + strings.Repeat("b", 64) + "  ./images/x" + inventoryEnd + ".jpg\n"
	text := inventory + inventoryEnd + "\nSWAPPED\n"
	for _, size := range []int{1, 3, 7, 64, len(text)} {
		s := newSplitOutput()
		for i := 0; i < len(text); i += size {
			_, _ = s.Write([]byte(text[i:min(i+size, len(text))]))
		}
		select {
		case got := <-s.inventory:
			if got != inventory {
				t.Errorf("writes of %d bytes: inventory = %q, want %q", size, got, inventory)
			}
		default:
			t.Fatalf("writes of %d bytes: the end line was not found", size)
		}
		if s.rest() != "SWAPPED\n" {
			t.Errorf("writes of %d bytes: rest = %q", size, s.rest())
		}
	}
}

// exitingRunner writes a script's message and exit line in one chunk, from
// the stream's goroutine, and returns as soon as the run is cancelled.
type exitingRunner struct{}

func (exitingRunner) Run(ctx context.Context, _ []string, _ io.Reader, _, stderr io.Writer) error {
	go func() { _, _ = stderr.Write([]byte("the stage image has no sha256sum\n" + exitMarker + " 127\n")) }()
	<-ctx.Done()
	return ctx.Err()
}

func TestRunKeepsTheMessageOfAScriptThatGaveUp(t *testing.T) {
	for i := 0; i < 50; i++ {
		err := run(context.Background(), exitingRunner{}, "true", "cats", nil, strings.NewReader(""), io.Discard)
		if exitOf(err) != codeMissingTool || !strings.Contains(err.Error(), "no sha256sum") {
			t.Fatalf("run %d: err = %v (exit %d), want exit 127 with the script's message", i, err, exitOf(err))
		}
	}
}
