//go:build e2e

package harness

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/spec"
)

// MemoryPush is one push with what it cost.
type MemoryPush struct {
	Took      time.Duration
	PluginRSS int64 // bytes
	AgentPeak int64 // bytes, as the agent reported it
	Sent      int
	Reused    int
	// Kept: the agent kept the staged copy in place (nothing had changed).
	Kept bool
}

// PushMeasured pushes dir with plugin (staging only, -o json) and reads the plugin's
// peak RSS from the kernel and the agent's from its report.
func PushMeasured(tb testing.TB, plugin string, env []string, dir, table string) MemoryPush {
	tb.Helper()
	cmd := exec.Command(plugin, "push", "--stage-only", dir, "--table", table, "-n", Namespace, "--category", "text_classification", "-o", "json")
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	p := MemoryPush{Took: time.Since(start)}
	if err != nil {
		tb.Fatalf("push %s: %v\nstdout:\n%s\nstderr:\n%s", table, err, tail(stdout.String()), tail(stderr.String()))
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		p.PluginRSS = ru.Maxrss << 10
	}
	var rep struct {
		Transfer *struct {
			SentFiles int   `json:"sent_files"`
			Reused    int   `json:"reused_files"`
			AgentPeak int64 `json:"agent_peak_bytes"`
			Kept      bool  `json:"kept_in_place"`
		} `json:"transfer"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil || rep.Transfer == nil {
		tb.Fatalf("push %s: report: %v\n%s", table, err, tail(stdout.String()))
	}
	p.Sent, p.Reused, p.AgentPeak, p.Kept = rep.Transfer.SentFiles, rep.Transfer.Reused, rep.Transfer.AgentPeak, rep.Transfer.Kept
	return p
}

func tail(s string) string {
	if len(s) > 4000 {
		return "…" + s[len(s)-4000:]
	}
	return s
}

// StagedDigest is one SHA-256 over the sorted "<sha256>  ./<path>" lines of
// every file of the staged copy of table, computed in the reader Pod (an
// independent Pod, not the stage agent), with the count of files.
func StagedDigest(tb testing.TB, kubectl, kubeconfig, table string) (string, int) {
	tb.Helper()
	out, err := exec.Command(kubectl, "--kubeconfig", kubeconfig, "exec", "-n", Namespace, ReaderPod, "--", "sh", "-c",
		`cd "$1" && find . -type f | wc -l && find . -type f | LC_ALL=C sort | xargs sha256sum | sha256sum`,
		"sh", spec.StagingRoot+"/"+table).CombinedOutput()
	if err != nil {
		tb.Fatalf("reader: %v: %s", err, out)
	}
	var n int
	var sum string
	if _, err := fmt.Sscan(string(out), &n, &sum); err != nil {
		tb.Fatalf("reader: %q: %v", out, err)
	}
	return sum, n
}

// LocalDigest is StagedDigest of the local files that are staged.
func LocalDigest(tb testing.TB, dir string, rels []string) (string, int) {
	tb.Helper()
	sort.Strings(rels)
	all := sha256.New()
	w := bufio.NewWriter(all)
	for _, rel := range rels {
		f, err := os.Open(filepath.Join(dir, rel))
		if err != nil {
			tb.Fatal(err)
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			tb.Fatal(err)
		}
		fmt.Fprintf(w, "%s  ./%s\n", hex.EncodeToString(h.Sum(nil)), rel)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	return hex.EncodeToString(all.Sum(nil)), len(rels)
}

// TextRels lists labels.csv and texts/* of a dataset written by writeSmallTexts.
func TextRels(tb testing.TB, dir string) []string {
	tb.Helper()
	f, err := os.Open(filepath.Join(dir, "texts"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		tb.Fatal(err)
	}
	rels := []string{"labels.csv"}
	for _, n := range names {
		rels = append(rels, "texts/"+n)
	}
	return rels
}
