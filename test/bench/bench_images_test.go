//go:build e2e

package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
	"github.com/tracebloc/kubectl-tracebloc/test/harness"
)

const bigImagesSection = "A 6 GiB image dataset: 20 000 PNG files, pushed and ingested"

// BenchmarkImages6GiB: a dataset six times the old 1 GiB cap, pushed the
// whole way (staging, verification, ingestion) with one command. The
// ingested copy is checked file by file from the reader Pod.
func BenchmarkImages6GiB(b *testing.B) {
	const images = 20000
	// 328×328 RGB noise is about 315 KiB a PNG: 20 000 of them are 6 GiB.
	dir := benchData(b, "images-6g", fixture.Options{Images: images, Width: 328, Height: 328, Ext: ".png", Noise: true})
	total := dirBytes(b, dir)
	if total < 6<<30 {
		b.Fatalf("the dataset holds %d bytes, want at least 6 GiB", total)
	}
	// Tables are immutable once ingested: each run ingests a new one.
	table := fmt.Sprintf("bench_images_6g_%d", time.Now().Unix())
	defer emptyTrash(b)
	defer setAsideIngested(b, table)
	settle(b)
	cmd := exec.Command(plugin, "push", dir, "--table", table, "-n", ns, "-o", "json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	runErr := cmd.Run()
	took := time.Since(start)
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss << 10
	}
	var rep struct {
		ExitCode int     `json:"exit_code"`
		Records  int     `json:"records"`
		Skipped  int     `json:"skipped_records"`
		Files    int     `json:"files"`
		Seconds  float64 `json:"duration_seconds"`
		Transfer *struct {
			SentFiles int   `json:"sent_files"`
			WireBytes int64 `json:"wire_bytes"`
		} `json:"transfer"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil || runErr != nil || rep.ExitCode != 0 {
		b.Fatalf("push: %v / %v:\nstdout:\n%s\nstderr:\n%s", runErr, err, tailOf(stdout.String()), tailOf(stderr.String()))
	}
	if rep.Transfer == nil || rep.Transfer.SentFiles != images+1 {
		b.Fatalf("push sent %+v, want %d files", rep.Transfer, images+1)
	}
	if rep.Records != images || rep.Skipped != 0 {
		b.Fatalf("ingested %d records, skipped %d; want %d, 0", rep.Records, rep.Skipped, images)
	}
	names := make([]string, 0, images)
	entries, err := os.ReadDir(filepath.Join(dir, "images"))
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want, wn := harness.LocalDigest(b, filepath.Join(dir, "images"), names)
	got, gn := ingestedDigest(b, table+"/images")
	if want != got || wn != gn {
		b.Fatalf("the ingested images differ from the local ones: %d files %s ingested, %d files %s local", gn, got, wn, want)
	}
	record(bigImagesSection, "| dataset | push + ingest, one command | on the wire | records ingested | plugin peak RSS |")
	record(bigImagesSection, "| --- | --- | --- | --- | --- |")
	record(bigImagesSection, "| %.2f GiB, %d files | %.1f s (%.0f MB/s) | %.2f GiB | %d of %d | %.0f MiB |",
		float64(total)/(1<<30), rep.Files, took.Seconds(), float64(total)/took.Seconds()/1e6,
		float64(rep.Transfer.WireBytes)/(1<<30), rep.Records, images, float64(rss)/(1<<20))
	record(bigImagesSection, "")
	record(bigImagesSection, "Every ingested image checked from the reader Pod (one SHA-256 over the sorted `sha256sum` lines, against the local files).")
}

// ingestedDigest is harness.StagedDigest of a folder of the ingested tables.
func ingestedDigest(b *testing.B, rel string) (string, int) {
	b.Helper()
	out, err := exec.Command(kubectlBin, "--kubeconfig", kubeconfig, "exec", "-n", ns, readerPod, "--", "sh", "-c",
		`cd "/data/shared/$1" && find . -type f | wc -l && find . -type f | LC_ALL=C sort | xargs sha256sum | sha256sum`,
		"sh", rel).CombinedOutput()
	if err != nil {
		b.Fatalf("reader: %v: %s", err, out)
	}
	var n int
	var sum string
	if _, err := fmt.Sscan(string(out), &n, &sum); err != nil {
		b.Fatalf("reader: %q: %v", out, err)
	}
	return sum, n
}

// setAsideIngested moves an ingested table into the trash that emptyTrash
// deletes.
func setAsideIngested(b *testing.B, table string) {
	b.Helper()
	out, err := exec.Command(kubectlBin, "--kubeconfig", kubeconfig, "exec", "-n", ns, readerPod, "--", "sh", "-c",
		`mkdir -p /data/shared/.bench-trash && trash=$(mktemp -d /data/shared/.bench-trash/i.XXXXXX) && if [ -e "/data/shared/$1" ]; then mv "/data/shared/$1" "$trash/"; fi`,
		"sh", table).CombinedOutput()
	if err != nil {
		b.Fatalf("setting %s aside: %v %s", table, err, out)
	}
	clearStaged(b, table)
}

func tailOf(s string) string {
	if len(s) > 3000 {
		return "…" + s[len(s)-3000:]
	}
	return s
}
