//go:build e2e

package e2e

import (
	"bufio"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
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
