//go:build e2e

package bench

import (
	"github.com/tracebloc/kubectl-tracebloc/test/harness"

	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
)

// resumeBenchBytes is the CSV's size: 4 GiB as the issue asks, or
// TRACEBLOC_BENCH_RESUME_BYTES on a machine where that takes too long.
func resumeBenchBytes(b *testing.B) int64 { return benchBytes(b, "TRACEBLOC_BENCH_RESUME_BYTES") }

// benchBytes is a big CSV bench's size: 4 GiB, or the bytes the variable
// env names.
func benchBytes(b *testing.B, env string) int64 {
	if v := os.Getenv(env); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			b.Fatalf("%s=%q: want a number of bytes", env, v)
		}
		return n
	}
	return 4 << 30
}

const resumeSection = "Resume inside a file: one CSV at 100 Mbit/s, cut at ~60 % (stage Pod deleted), pushed again"

// BenchmarkResumeInsideAFile: bytes on the wire (counted by a TCP relay
// outside the plugin) of one whole push, against a push cut at ~60 % plus
// the push after it, which continues the cut file from the agent's last
// checkpoint. Both with the default --compress auto.
func BenchmarkResumeInsideAFile(b *testing.B) {
	size := resumeBenchBytes(b)
	dir := shapeData(b, fmt.Sprintf("resume-csv-%d", size), func(dir string) {
		if _, err := fixture.WriteTabular(filepath.Join(dir, "sales.csv"), fixture.TabularOptions{Task: "tabular_classification", Bytes: size, Seed: 7}); err != nil {
			b.Fatal(err)
		}
	})
	const table = "bench_resume"
	defer slowLink(b)()
	rel := newCountingRelay(b)
	server := "https://" + rel.ln.Addr().String()
	args := []string{"push", "--stage-only", dir, "--table", table, "-n", ns, "-q", "--task", "tabular_classification"}
	clearStaged(b, table)
	start := time.Now()
	whole := rel.measure(b, args...)
	wholeTook := time.Since(start)
	clearStaged(b, table)
	before := rel.sent.Load()
	start = time.Now()
	cmd := exec.Command(plugin, "push", dir, "--table", table, "-n", ns, "--retries", "0", "--stage-only", "--task", "tabular_classification", "--server", server)
	cmd.Env = append(os.Environ(), "TRACEBLOC_PROGRESS_INTERVAL=200ms")
	if _, stderr, code := harness.CutPush(b, client, cmd, table, 60); code != 7 {
		b.Fatalf("cut push: exit %d, want 7:\n%s", code, stderr)
	}
	time.Sleep(200 * time.Millisecond) // let the relay count the closed connections
	cut := rel.sent.Load() - before
	again := rel.measure(b, args...)
	bothTook := time.Since(start)
	clearStaged(b, table)
	if out, err := exec.Command(kubectlBin, "--kubeconfig", kubeconfig, "exec", "-n", ns, readerPod, "--", "rm", "-rf", "/data/shared/.bench-trash").CombinedOutput(); err != nil {
		b.Fatalf("emptying the trash: %v %s", err, out)
	}
	record(resumeSection, "| CSV | one push: wire bytes | cut at ~60 %% + next push: wire bytes | ratio (issue 23: ≤ 1.1) | one push | both pushes (Pod start included) |")
	record(resumeSection, "| --- | --- | --- | --- | --- | --- |")
	record(resumeSection, "| %.0f MB | %d | %d + %d | %.2f | %.1f s | %.1f s |", float64(size)/1e6, whole, cut, again,
		float64(cut+again)/float64(whole), wholeTook.Seconds(), bothTook.Seconds())
	record(resumeSection, "")
}
