//go:build e2e

package e2e

import (
	"bufio"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
)

// progressRE reads the percent of a progress line.
var progressRE = regexp.MustCompile(`^sending.*: +(\d+)% `)

// TestInterruptInsideAFileStopsThere: Ctrl-C a fifth into a 96 MB CSV
// capped at 8 MB/s exits 130 without sending the file to its end first
// (the stream went on for the ten seconds of the drain clock, to the end
// of this file); the next push continues from the last byte that arrived,
// and the staged copy is exact.
func TestInterruptInsideAFileStopsThere(t *testing.T) {
	const table = "e2e_interrupt_file"
	removeStaged(t, table)
	dir, csv, size := salesCSV(t, 96e6, 3)
	flags := []string{"--task", "tabular_classification", "--compress", "never", "--bwlimit", "8M"}

	cmd := pluginCmd([]string{"TRACEBLOC_PROGRESS_INTERVAL=200ms"}, append([]string{"push", dir, "--table", table, "-n", ns}, flags...)...)
	pipe, err := cmd.StderrPipe()
	must(t, err)
	must(t, cmd.Start())
	var errOut strings.Builder
	sent := false
	sc := bufio.NewScanner(pipe)
	for sc.Scan() {
		errOut.WriteString(sc.Text() + "\n")
		if m := progressRE.FindStringSubmatch(sc.Text()); !sent && m != nil {
			if p, _ := strconv.Atoi(m[1]); p >= 20 {
				must(t, cmd.Process.Signal(syscall.SIGINT))
				sent = true
			}
		}
	}
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); !sent || code != 130 {
		t.Fatalf("interrupted push: exit %d (signal sent: %v), want 130:\n%s", code, sent, errOut.String())
	}

	r, c := pushCounts(t, dir, table, flags...)
	if r.code != 0 {
		t.Fatalf("push after the interrupt:\n%s", r)
	}
	assertStagedCSV(t, csv, table)
	tr := c.Transfer
	t.Logf("after Ctrl-C at 20%%: resumed %d of %d bytes, sent %d", tr.ResumedBytes, size, tr.SentBytes)
	if tr.ResumedBytes == 0 || tr.ResumedBytes > size/2 || tr.SentBytes != size-tr.ResumedBytes {
		t.Errorf("resumed %d and sent %d bytes of %d: want the file continued from about a fifth (at most half: the stream stops at Ctrl-C)", tr.ResumedBytes, tr.SentBytes, size)
	}
	assertNoStagePodsOf(t, table)
}

// TestInterruptDuringTheCheck: Ctrl-C while the pre-flight reads 100 000
// texts (no check cache) exits 130 at once, saying nothing was created in
// the cluster, and leaves no Pod (the push waited for the whole check
// before it looked at the interrupt).
func TestInterruptDuringTheCheck(t *testing.T) {
	const table = "e2e_interrupt_check"
	dir := filepath.Join(t.TempDir(), "texts")
	must(t, fixture.WriteText(dir, fixture.TextOptions{Task: "text_classification", Files: 100000}))
	cmd := pluginCmd([]string{"TRACEBLOC_CACHE_DIR=" + t.TempDir()}, "push", dir, "--table", table, "-n", ns, "--task", "text_classification")
	pipe, err := cmd.StderrPipe()
	must(t, err)
	must(t, cmd.Start())
	var errOut strings.Builder
	var sentAt time.Time
	sc := bufio.NewScanner(pipe)
	for sc.Scan() {
		errOut.WriteString(sc.Text() + "\n")
		if sentAt.IsZero() && strings.HasPrefix(sc.Text(), "checking ") {
			must(t, cmd.Process.Signal(syscall.SIGINT))
			sentAt = time.Now()
		}
	}
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); sentAt.IsZero() || code != 130 {
		t.Fatalf("push interrupted in its check: exit %d (signal sent: %v), want 130:\n%s", code, !sentAt.IsZero(), errOut.String())
	}
	if want := "interrupted while checking the dataset: nothing was created in the cluster"; !strings.Contains(errOut.String(), want) {
		t.Errorf("the interrupted push does not say %q:\n%s", want, errOut.String())
	}
	t.Logf("exit %s after Ctrl-C", time.Since(sentAt).Round(time.Millisecond))
	assertNoStagePodsOf(t, table)
}
