//go:build e2e

package bench

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
)

// chunkBenchBytes is the CSV's size: 4 GiB as the issue asks, or
// TRACEBLOC_BENCH_CHUNK_BYTES on a machine where that takes too long.
func chunkBenchBytes(b *testing.B) int64 { return benchBytes(b, "TRACEBLOC_BENCH_CHUNK_BYTES") }

const chunkSection = "Changed parts of a big file: one CSV at 100 Mbit/s staged, 3 rows edited in the middle and 1 % appended, pushed again"

// editRows changes one digit near each of fracs of the file at p (same
// size, still a CSV).
func editRows(b *testing.B, p string, fracs ...float64) {
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 4096)
	for _, frac := range fracs {
		at := int64(float64(st.Size()) * frac)
		n, _ := f.ReadAt(buf, at)
		i := bytes.IndexAny(buf[:n], "12345678")
		if i < 0 {
			b.Fatalf("no digit to edit near byte %d", at)
		}
		if _, err := f.WriteAt([]byte{buf[i] + 1}, at+int64(i)); err != nil {
			b.Fatal(err)
		}
	}
}

// appendRows appends new rows for about 1 % of the CSV at p.
func appendRows(b *testing.B, p string, n int64) {
	more := filepath.Join(b.TempDir(), "more.csv")
	if _, err := fixture.WriteTabular(more, fixture.TabularOptions{Task: "tabular_classification", Bytes: n, Seed: 99}); err != nil {
		b.Fatal(err)
	}
	rows, err := os.ReadFile(more)
	if err != nil {
		b.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := f.Write(rows[bytes.IndexByte(rows, '\n')+1:]); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRepushChangedParts: bytes on the wire (counted by a TCP relay
// outside the plugin) of a CSV's first push, which is the file compressed
// (--compress auto at 100 Mbit/s), against the push after 3 rows edited in
// the middle and 1 % appended: a recipe against the staged copy.
func BenchmarkRepushChangedParts(b *testing.B) {
	size := chunkBenchBytes(b)
	// Its own copy of the data, edited: removed at the end.
	dir := filepath.Join(os.TempDir(), "tracebloc-bench", fmt.Sprintf("chunks-csv-%d", size))
	_ = os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(dir)
	csv := filepath.Join(dir, "sales.csv")
	if _, err := fixture.WriteTabular(csv, fixture.TabularOptions{Task: "tabular_classification", Bytes: size, Seed: 7}); err != nil {
		b.Fatal(err)
	}
	const table = "bench_chunks"
	defer slowLink(b)()
	rel := newCountingRelay(b)
	args := []string{"push", "--stage-only", dir, "--table", table, "-n", ns, "-q", "--task", "tabular_classification"}
	clearStaged(b, table)
	start := time.Now()
	whole := rel.measure(b, args...)
	wholeTook := time.Since(start)
	editRows(b, csv, 0.45, 0.5, 0.55)
	appendRows(b, csv, size/100)
	start = time.Now()
	again := rel.measure(b, args...)
	againTook := time.Since(start)
	clearStaged(b, table)
	if out, err := exec.Command(kubectlBin, "--kubeconfig", kubeconfig, "exec", "-n", ns, readerPod, "--", "rm", "-rf", "/data/shared/.bench-trash").CombinedOutput(); err != nil {
		b.Fatalf("emptying the trash: %v %s", err, out)
	}
	record(chunkSection, "| CSV | first push: wire bytes (the file compressed) | push after the edits: wire bytes | share (issue 23: ≤ 3 %%) | first push | push after the edits |")
	record(chunkSection, "| --- | --- | --- | --- | --- | --- |")
	record(chunkSection, "| %.0f MB | %d | %d | %.2f %% | %.1f s | %.1f s |", float64(size)/1e6, whole, again,
		100*float64(again)/float64(whole), wholeTook.Seconds(), againTook.Seconds())
	record(chunkSection, "")
}
