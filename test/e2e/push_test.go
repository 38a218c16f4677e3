//go:build e2e

package e2e

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
)

func push(t *testing.T, dir, table string, extra ...string) (result, report) {
	t.Helper()
	args := append([]string{"push", dir, "--table", table, "-n", ns, "-o", "json"}, extra...)
	r := runPlugin(t, nil, args...)
	return r, parseReport(t, r)
}

func assertStagedCopy(t *testing.T, dir, table string) {
	t.Helper()
	if diff := cmp.Diff(localSums(t, dir), stagedSums(t, table)); diff != "" {
		t.Fatalf("staged copy of %s differs from %s (-local +staged):\n%s", table, dir, diff)
	}
}

func TestPushOddNames(t *testing.T) {
	const table = "e2e_odd_names"
	removeStaged(t, table)
	names := []string{"plain.JPG", "with space.JPG", "comma,name.JPG", `quote"double.JPG`, "quote'single.JPG", "kätzchen-ü.JPG", "日本語.JPG", "$(touch x).JPG"}
	dir := filepath.Join(t.TempDir(), "odd")
	err := fixture.Write(dir, fixture.Options{Images: len(names), Width: 20, Height: 10, Ext: ".JPG", Name: func(i int) string { return names[i] }})
	if err != nil {
		t.Fatal(err)
	}
	r, rep := push(t, dir, table)
	if r.code != 0 || rep.Status != "staged" || !rep.Verified || rep.Transfer.Verified != len(names)+1 {
		t.Fatalf("push failed:\n%s", r)
	}
	assertStagedCopy(t, dir, table)
	assertNoStagePods(t, ns)
	if strings.Contains(inReader(t, `ls -A /data/shared/.tracebloc-staging/`+table+`/images`), "x\n") {
		t.Error("a file name was run as a command")
	}
}

func TestRepushSendsOnlyChanges(t *testing.T) {
	const table = "e2e_repush"
	removeStaged(t, table)
	dir := filepath.Join(t.TempDir(), "ds")
	if err := fixture.Write(dir, fixture.Options{Images: 40, Width: 48, Height: 48, Noise: true}); err != nil {
		t.Fatal(err)
	}
	if r, _ := push(t, dir, table); r.code != 0 {
		t.Fatalf("first push:\n%s", r)
	}
	// Unchanged: no file data is sent.
	r, rep := push(t, dir, table)
	if r.code != 0 || rep.Transfer.SentFiles != 0 || rep.Transfer.SentBytes != 0 || rep.Transfer.Reused != 41 {
		t.Fatalf("unchanged re-push sent data: %+v\n%s", rep.Transfer, r)
	}
	// Added, removed, modified.
	img := filepath.Join(dir, "images")
	must(t, os.Remove(filepath.Join(img, "img_00039.jpg")))
	must(t, os.WriteFile(filepath.Join(img, "img_00000.jpg"), mustRead(t, filepath.Join(img, "img_00001.jpg")), 0o644))
	must(t, os.WriteFile(filepath.Join(img, "extra.jpg"), mustRead(t, filepath.Join(img, "img_00002.jpg")), 0o644))
	rows := "filename,label\n"
	for i := 0; i < 39; i++ {
		rows += fmt.Sprintf("img_%05d.jpg,%s\n", i, []string{"cat", "dog"}[i%2])
	}
	rows += "extra.jpg,dog\n"
	must(t, os.WriteFile(filepath.Join(dir, "labels.csv"), []byte(rows), 0o644))
	r, rep = push(t, dir, table)
	if r.code != 0 {
		t.Fatalf("changed re-push:\n%s", r)
	}
	if rep.Transfer.SentFiles != 3 || rep.Transfer.Reused != 38 {
		t.Errorf("changed re-push: %+v, want 3 sent (labels.csv, img_00000, extra) and 38 reused", rep.Transfer)
	}
	assertStagedCopy(t, dir, table)
	if left := stagingEntries(t); strings.Contains(left, ".partial-"+table) || strings.Contains(left, ".old-"+table) {
		t.Errorf("temporary folders left behind: %s", left)
	}
}

// TestMinimalStageImage pushes through an image with only what the agent's
// bootstrap needs: no tar, no sha256sum, no gzip (the agent goes raw).
func TestMinimalStageImage(t *testing.T) {
	const table = "e2e_minimal"
	removeStaged(t, table)
	dir := smallDataset(t)
	r := runPlugin(t, nil, "push", dir, "--table", table, "-n", ns, "--stage-image", os.Getenv("LOCALCLUSTER_MINIMAL_IMAGE"))
	if r.code != 0 {
		t.Fatalf("push through the minimal image:\n%s", r)
	}
	assertStagedCopy(t, dir, table)
	assertNoStagePods(t, ns)
}

// TestAgentThatCannotRunIsExplained: a stage Pod whose /tmp cannot run
// programs, and one on a machine the agent is not built for, both stop
// before any data is sent, with exit 7 and the way out.
func TestAgentThatCannotRunIsExplained(t *testing.T) {
	for _, tt := range []struct{ image, want string }{
		{os.Getenv("LOCALCLUSTER_NOEXEC_IMAGE"), "cannot run the stage agent from /tmp"},
		{os.Getenv("LOCALCLUSTER_ARCH_IMAGE"), "riscv64"},
	} {
		const table = "e2e_noagent"
		removeStaged(t, table)
		r := runPlugin(t, nil, "push", smallDataset(t), "--table", table, "-n", ns, "--stage-image", tt.image, "-o", "json")
		if r.code != 7 || !strings.Contains(r.stdout, tt.want) {
			t.Fatalf("image %s: want exit 7 saying %q:\n%s", tt.image, tt.want, r)
		}
		if rep := parseReport(t, r); rep.Transfer != nil {
			t.Errorf("image %s: data was sent: %+v", tt.image, rep.Transfer)
		}
		assertNoStagePods(t, ns)
		if sums := stagedSums(t, table); len(sums) != 0 {
			t.Errorf("image %s: files were staged: %v", tt.image, sums)
		}
		if strings.Contains(stagingEntries(t), ".partial-"+table) {
			t.Errorf("image %s: a partial folder was made", tt.image)
		}
	}
}

func TestUnpullableImageIsExplained(t *testing.T) {
	r := runPlugin(t, nil, "push", smallDataset(t), "--table", "e2e_pull", "-n", ns, "--stage-image", "localhost/tracebloc/does-not-exist:1", "--pod-running-timeout", "60s")
	if r.code != 7 || !strings.Contains(r.stderr, "the stage image cannot be pulled") {
		t.Fatalf("want exit 7 explaining the pull failure:\n%s", r)
	}
	assertNoStagePods(t, ns)
}

// TestPushBulk stages ~150 MB and compares with kubectl cp of the same folder.
func TestPushBulk(t *testing.T) {
	const table = "e2e_bulk"
	removeStaged(t, table)
	dir := bulkDataset(t)
	start := time.Now()
	r, rep := push(t, dir, table)
	took := time.Since(start)
	if r.code != 0 || !rep.Verified {
		t.Fatalf("bulk push:\n%s", r)
	}
	assertStagedCopy(t, dir, table)
	mb := float64(rep.Bytes) / 1e6
	t.Logf("push: %.0f MB, %d files in %.2fs (%.0f MB/s), verified", mb, rep.Files, took.Seconds(), mb/took.Seconds())
}

func bulkDataset(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "bulk")
	// 1600 incompressible 176×176 PNGs: about 150 MB.
	if err := fixture.Write(dir, fixture.Options{Images: 1600, Width: 176, Height: 176, Ext: ".png", Noise: true}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// interruptWhen starts a push and sends SIGINT when stderr shows marker.
func interruptWhen(t *testing.T, dir, table, marker string) (result, time.Duration) {
	t.Helper()
	cmd := pluginCmd([]string{"TRACEBLOC_PROGRESS_INTERVAL=200ms"}, "push", dir, "--table", table, "-n", ns)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var errOut strings.Builder
	sent := time.Time{}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		line := sc.Text()
		errOut.WriteString(line + "\n")
		if sent.IsZero() && strings.Contains(line, marker) {
			must(t, cmd.Process.Signal(syscall.SIGINT))
			sent = time.Now()
		}
	}
	_, _ = io.Copy(io.Discard, stderr)
	err = cmd.Wait()
	code := 0
	if err != nil {
		code = cmd.ProcessState.ExitCode()
	}
	if sent.IsZero() {
		t.Fatalf("never saw %q:\n%s", marker, errOut.String())
	}
	return result{stdout: out.String(), stderr: errOut.String(), code: code}, time.Since(sent)
}

func TestInterruptLeavesNothingBehind(t *testing.T) {
	const table = "e2e_interrupt"
	removeStaged(t, table)
	old := filepath.Join(t.TempDir(), "old")
	if err := fixture.Write(old, fixture.Options{Images: 10, Width: 176, Height: 176, Ext: ".png", Noise: true}); err != nil {
		t.Fatal(err)
	}
	if r, _ := push(t, old, table); r.code != 0 {
		t.Fatalf("first push:\n%s", r)
	}
	oldSums := localSums(t, old)
	bulk := bulkDataset(t)
	newSums := localSums(t, bulk)
	for _, moment := range []struct{ name, marker string }{
		{"before the pod is up", "creating stage pod"},
		{"mid-stream", "sending: "},
		{"after the last byte", "sending: 100%"},
	} {
		t.Run(moment.name, func(t *testing.T) {
			r, took := interruptWhen(t, bulk, table, moment.marker)
			got := stagedSums(t, table)
			whollyOld, whollyNew := cmp.Equal(got, oldSums), cmp.Equal(got, newSums)
			switch {
			case r.code == 130 && (whollyOld || whollyNew):
			case r.code == 0 && whollyNew:
				// The push finished before the signal landed.
			default:
				t.Fatalf("exit %d, staged copy old=%v new=%v:\n%s", r.code, whollyOld, whollyNew, r)
			}
			assertNoStagePods(t, ns)
			t.Logf("exit %d %.1fs after the signal; staged copy wholly %s", r.code, took.Seconds(), map[bool]string{true: "new", false: "old"}[whollyNew])
			if whollyNew {
				// Put the old copy back for the next moment.
				if r, _ := push(t, old, table); r.code != 0 {
					t.Fatalf("restoring the old copy:\n%s", r)
				}
			}
		})
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
