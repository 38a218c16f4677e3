//go:build e2e

package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/agenttest/deeptree"
)

// stageUID is the uid the stage Pod runs as: what it wrote on the volume
// is its own.
const stageUID = 65532

// sharedVolume is client-pvc's folder on this host (a hostPath volume).
func sharedVolume(t *testing.T) string {
	t.Helper()
	state := os.Getenv("LOCALCLUSTER_STATE")
	if state == "" {
		t.Fatal("LOCALCLUSTER_STATE is not set: source the local cluster's env")
	}
	dir := filepath.Join(state, "volumes", "client-pvc")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("client-pvc's folder on this host: %v", err)
	}
	return dir
}

// stagedTable pushes a small dataset as table (which also makes the
// staging folder the stage Pod's own) and returns the dataset and the
// path on this host of the table's partial folder.
func stagedTable(t *testing.T, table string) (dir, partial string) {
	t.Helper()
	vol := sharedVolume(t)
	removeStaged(t, table)
	dir = smallDataset(t)
	if r := runPlugin(t, nil, "push", dir, "--table", table, "-n", ns); r.code != 0 {
		t.Fatalf("first push: %s", r)
	}
	return dir, filepath.Join(vol, ".tracebloc-staging", ".partial-"+table)
}

// hostileName retitles the window, moves the cursor up, erases the line
// and paints a green "staged OK" when printed raw on a terminal.
const hostileName = "x\x1b]0;pwned\x07\x1b[1A\x1b[2K\x1b[32mstaged OK\x1b[0m"

// TestEscapesInAVolumeNameReachTheTerminalEscaped: a file planted in a
// table's partial folder with escape sequences in its name, made
// unremovable, makes the push fail with an error that names it. Run
// through a terminal, the error shows the escapes as text; none reaches
// the terminal raw.
func TestEscapesInAVolumeNameReachTheTerminalEscaped(t *testing.T) {
	const table = "e2e_escapes"
	if _, err := exec.LookPath("script"); err != nil {
		t.Fatalf("script(1) runs the plugin under a terminal: %v", err)
	}
	dir, partial := stagedTable(t, table)
	planted := filepath.Join(partial, hostileName)
	t.Cleanup(func() {
		_ = exec.Command("chattr", "-i", planted).Run()
		_ = os.RemoveAll(partial)
	})
	must(t, os.MkdirAll(partial, 0o755))
	must(t, os.Chown(partial, stageUID, stageUID))
	must(t, os.WriteFile(planted, []byte("planted"), 0o644))
	if out, err := exec.Command("chattr", "+i", planted).CombinedOutput(); err != nil {
		t.Fatalf("making the planted file unremovable: %v: %s", err, out)
	}

	cmd := exec.Command("script", "-qec", strings.Join(shellQuote(append([]string{plugin}, stagingPush([]string{"push", dir, "--table", table, "-n", ns})...)), " "), "/dev/null")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	tty := out.String()
	if err == nil {
		t.Fatalf("the push succeeded past a file it cannot remove:\n%q", tty)
	}
	if !strings.Contains(tty, "pwned") {
		t.Fatalf("the error does not name the planted file:\n%q", tty)
	}
	for _, raw := range []string{"\x1b]0;", "\x07", "\x1b[1A", "\x1b[2K", "\x1b[32m"} {
		if strings.Contains(tty, raw) {
			t.Errorf("%q reached the terminal raw:\n%q", raw, tty)
		}
	}
	if !strings.Contains(tty, `\x1b]0;pwned\x07`) {
		t.Errorf("the escapes are not shown as text:\n%q", tty)
	}
	assertNoStagePodsOf(t, table)
}

// shellQuote quotes each argument for sh.
func shellQuote(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return out
}

// TestDeepTreeInAPartialCopyIsRemovedByTheNextPush: 3 000 levels of
// 255-byte names planted in a table's partial copy (as the stage Pod's uid)
// are removed by the next push inside the stage Pod's memory limit.
// Removed by full paths, the tree took more than the limit: the agent was
// killed on every retry and the table could not be pushed.
func TestDeepTreeInAPartialCopyIsRemovedByTheNextPush(t *testing.T) {
	const table = "e2e_deep_tree"
	dir, partial := stagedTable(t, table)
	t.Cleanup(func() { _ = os.RemoveAll(partial) })
	images := filepath.Join(partial, "data-0123456789abcdef", "images")
	must(t, os.MkdirAll(images, 0o755))
	for _, p := range []string{partial, filepath.Dir(images), images} {
		must(t, os.Chown(p, stageUID, stageUID))
	}
	must(t, deeptree.Plant(images, 3000, stageUID, stageUID))

	r := runPlugin(t, nil, "push", dir, "--table", table, "-n", ns)
	if r.code != 0 {
		t.Fatalf("the push after the planted tree: %s", r)
	}
	if _, err := os.Lstat(partial); !os.IsNotExist(err) {
		t.Errorf("the partial copy with the tree is still there (%v)", err)
	}
	assertStagedCopy(t, dir, table)
	assertNoStagePodsOf(t, table)
}
