//go:build e2e

package e2e

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
)

// A million small files: the records both sides keep per file decide
// whether the push fits the stage Pod's 1Gi at all (issue 23).

const millionSection = "A million small text files: 1 000 000 files of 200–2 000 bytes"

// memoryPush is one push with what it cost.
type memoryPush struct {
	took      time.Duration
	pluginRSS int64 // bytes
	agentPeak int64 // bytes, as the agent reported it
	sent      int
	reused    int
}

// pushMeasured pushes dir (staging only, -o json) and reads the plugin's
// peak RSS from the kernel and the agent's from its report.
func pushMeasured(tb testing.TB, env []string, dir, table string) memoryPush {
	tb.Helper()
	cmd := exec.Command(plugin, "push", "--stage-only", dir, "--table", table, "-n", ns, "--category", "text_classification", "-o", "json")
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	p := memoryPush{took: time.Since(start)}
	if err != nil {
		tb.Fatalf("push %s: %v\nstdout:\n%s\nstderr:\n%s", table, err, tail(stdout.String()), tail(stderr.String()))
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		p.pluginRSS = ru.Maxrss << 10
	}
	var rep struct {
		Transfer *struct {
			SentFiles int   `json:"sent_files"`
			Reused    int   `json:"reused_files"`
			AgentPeak int64 `json:"agent_peak_bytes"`
		} `json:"transfer"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil || rep.Transfer == nil {
		tb.Fatalf("push %s: report: %v\n%s", table, err, tail(stdout.String()))
	}
	p.sent, p.reused, p.agentPeak = rep.Transfer.SentFiles, rep.Transfer.Reused, rep.Transfer.AgentPeak
	return p
}

func tail(s string) string {
	if len(s) > 4000 {
		return "…" + s[len(s)-4000:]
	}
	return s
}

// stagedDigest is one SHA-256 over the sorted "<sha256>  ./<path>" lines of
// every file of the staged copy of table, computed in the reader Pod (an
// independent Pod, not the stage agent), with the count of files.
func stagedDigest(tb testing.TB, table string) (string, int) {
	tb.Helper()
	out, err := exec.Command(kubectlBin, "--kubeconfig", kubeconfig, "exec", "-n", ns, readerPod, "--", "sh", "-c",
		`cd "$1" && find . -type f | wc -l && find . -type f | LC_ALL=C sort | xargs sha256sum | sha256sum`,
		"sh", stagingDir+"/"+table).CombinedOutput()
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

// localDigest is stagedDigest of the local files that are staged.
func localDigest(tb testing.TB, dir string, rels []string) (string, int) {
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

// textRels lists labels.csv and texts/* of a dataset written by writeSmallTexts.
func textRels(tb testing.TB, dir string) []string {
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

// BenchmarkMillionTexts: 1 000 000 small texts pushed, then pushed again
// unchanged, beside the 100 000-file push in the same run; the plugin's
// and the agent's peak memory; the staged copy checked from the reader Pod.
func BenchmarkMillionTexts(b *testing.B) {
	small := textBench(b)
	big := shapeData(b, "texts-1m", func(dir string) { writeSmallTexts(b, dir, 1000000) })
	defer emptyTrash(b)
	env := []string{"TRACEBLOC_CACHE_DIR=" + b.TempDir()}
	// Files written within seconds of a push are not cached.
	time.Sleep(3500 * time.Millisecond)
	record(millionSection, "| files | push | unchanged re-push | re-push / push | plugin peak RSS (push, re-push) | agent peak (push, re-push) |")
	record(millionSection, "| --- | --- | --- | --- | --- | --- |")
	var firstSmall time.Duration
	for _, c := range []struct {
		label, dir, table string
		files             int
	}{{"100 000", small, "bench_texts_100k", 100001}, {"1 000 000", big, "bench_texts_1m", 1000001}} {
		clearStaged(b, c.table)
		settle(b)
		first := pushMeasured(b, env, c.dir, c.table)
		b.Logf("%s: push %.1f s, plugin %d MiB, agent %d MiB", c.label, first.took.Seconds(), first.pluginRSS>>20, first.agentPeak>>20)
		if first.sent != c.files {
			b.Fatalf("%s: first push sent %d files, want %d", c.label, first.sent, c.files)
		}
		settle(b)
		again := pushMeasured(b, env, c.dir, c.table)
		b.Logf("%s: re-push %.1f s, plugin %d MiB, agent %d MiB", c.label, again.took.Seconds(), again.pluginRSS>>20, again.agentPeak>>20)
		if again.sent != 0 || again.reused != c.files {
			b.Fatalf("%s: unchanged re-push sent %d, reused %d; want 0, %d", c.label, again.sent, again.reused, c.files)
		}
		want, wn := localDigest(b, c.dir, textRels(b, c.dir))
		got, gn := stagedDigest(b, c.table)
		if want != got || wn != gn {
			b.Fatalf("%s: the staged copy differs from the local files: %d files %s staged, %d files %s local", c.label, gn, got, wn, want)
		}
		vs := ""
		if firstSmall == 0 {
			firstSmall = first.took
		} else {
			vs = fmt.Sprintf(" (%.1f× the 100 000-file push)", first.took.Seconds()/firstSmall.Seconds())
		}
		mib := func(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }
		record(millionSection, "| %s | %.1f s%s | %.1f s | %.2f× | %s, %s | %s, %s |", c.label, first.took.Seconds(), vs, again.took.Seconds(),
			again.took.Seconds()/first.took.Seconds(), mib(first.pluginRSS), mib(again.pluginRSS), mib(first.agentPeak), mib(again.agentPeak))
		clearStaged(b, c.table)
	}
	record(millionSection, "")
	record(millionSection, "Every staged file checked from the reader Pod (one SHA-256 over the sorted `sha256sum` lines of the staged copy vs the local files).")
	record(millionSection, "")
}
