//go:build e2e

package bench

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
)

// shapeRuns is how often each workflow runs per shape and link, alternating.
const shapeRuns = 3

var benchWords = strings.Fields(`the a of and to in is was for on that with as it by at from this be are an or
review product service price quality delivery customer order support team good bad fine great poor late fast
slow broken works would again never always recommend return refund screen battery size color weather city`)

// writeSmallTexts writes a text_classification dataset of n files of 200 to
// 2 000 bytes of words, as user reviews are.
func writeSmallTexts(b *testing.B, dir string, n int) {
	b.Helper()
	rng := rand.New(rand.NewPCG(42, 15))
	if err := os.MkdirAll(filepath.Join(dir, "texts"), 0o755); err != nil {
		b.Fatal(err)
	}
	var csv strings.Builder
	csv.WriteString("filename,label\n")
	for i := 0; i < n; i++ {
		size := 200 + rng.IntN(1801)
		var body strings.Builder
		for body.Len() < size {
			body.WriteString(benchWords[rng.IntN(len(benchWords))])
			body.WriteByte(' ')
		}
		name := fmt.Sprintf("r%06d.txt", i)
		if err := os.WriteFile(filepath.Join(dir, "texts", name), []byte(body.String()[:size]), 0o644); err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(&csv, "%s,%s\n", name, []string{"pos", "neg"}[i%2])
	}
	if err := os.WriteFile(filepath.Join(dir, "labels.csv"), []byte(csv.String()), 0o644); err != nil {
		b.Fatal(err)
	}
}

// shapeData builds (once per machine, kept under the bench cache) the
// datasets of this benchmark.
func shapeData(b *testing.B, name string, write func(dir string)) string {
	b.Helper()
	dir := filepath.Join(os.TempDir(), "tracebloc-bench", name)
	if _, err := os.Stat(filepath.Join(dir, ".done")); err == nil {
		return dir
	}
	_ = os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	write(dir)
	if err := os.WriteFile(filepath.Join(dir, ".done"), nil, 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

// benchShape pushes one dataset with the plugin (verified, compression on
// auto) and by the manual workflow, alternating, and records the medians,
// the ratio and every run. The copies go to the trash; the caller empties
// it.
func benchShape(b *testing.B, section, label, dir, table string, args ...string) {
	var ours, manual []time.Duration
	var rss int64
	for i := 0; i < shapeRuns; i++ {
		clearStaged(b, table)
		runManual := func() {
			settle(b)
			manual = append(manual, manualPush(b, dir, fmt.Sprintf("/data/shared/bench-manual-%d", i)))
			clearStaged(b, table)
		}
		runOurs := func() {
			settle(b)
			r := pushTimed(b, dir, table, args...)
			ours = append(ours, r.took)
			rss = max(rss, r.maxRSS)
		}
		if i%2 == 0 {
			runManual()
			runOurs()
		} else {
			runOurs()
			runManual()
		}
	}
	clearStaged(b, table)
	mo, mm := median(ours), median(manual)
	record(section, "| %s | %.2f s | %.2f s | %.2f× | %s | %s | %.0f MiB |", label, mo.Seconds(), mm.Seconds(), mo.Seconds()/mm.Seconds(),
		seconds(ours), seconds(manual), float64(rss)/1024)
}

func shapeHeader(section string) {
	record(section, "| link | plugin (verified, --compress auto), median | manual: pod + wait + `kubectl cp` + delete, median | ratio | plugin runs | manual runs | plugin peak RSS |")
	record(section, "| --- | --- | --- | --- | --- | --- | --- |")
}

func textBench(b *testing.B) string {
	return shapeData(b, "texts-100k", func(dir string) { writeSmallTexts(b, dir, 100000) })
}

func csvBench(b *testing.B) string {
	return shapeData(b, "csv-500mb", func(dir string) {
		if _, err := fixture.WriteTabular(filepath.Join(dir, "sales.csv"), fixture.TabularOptions{Task: "tabular_classification", Bytes: 500e6}); err != nil {
			b.Fatal(err)
		}
	})
}

// shaped runs f with the veth to the cluster shaped to 100 Mbit/s.
func shaped(b *testing.B, f func()) {
	defer slowLink(b)()
	f()
}

const textSection = "Many small text files: 100 000 files of 200–2 000 bytes"

// BenchmarkTextFiles100k: pre-flight, then full pushes on loopback and at
// 100 Mbit/s, plugin vs the manual workflow.
func BenchmarkTextFiles100k(b *testing.B) {
	dir := textBench(b)
	// The copies are deleted once, at the end: deleting 600 000 files
	// between the two links slowed file creation on the volume for minutes
	// after (both workflows, 19-33 s instead of 17-20 s at 100 Mbit/s).
	defer emptyTrash(b)
	r := timed(b, nil, plugin, "push", dir, "--table", "bench_texts", "--task", "text_classification", "-n", ns, "--dry-run", "-q")
	if r.code != 0 {
		b.Fatalf("dry run:\n%s", r.out)
	}
	record(textSection, "Pre-flight (`push --dry-run`, every file read and checked as UTF-8): %.2f s, peak RSS %.0f MiB.", r.took.Seconds(), float64(r.maxRSS)/1024)
	record(textSection, "")
	shapeHeader(textSection)
	benchShape(b, textSection, "loopback", dir, "bench_texts", "--task", "text_classification")
	shaped(b, func() { benchShape(b, textSection, "100 Mbit/s", dir, "bench_texts", "--task", "text_classification") })
	record(textSection, "")
}

const csvSection = "One large CSV: 500 MB, tabular_classification"

// BenchmarkCSV500MB: full pushes of one large CSV on loopback and at
// 100 Mbit/s, plugin vs the manual workflow.
func BenchmarkCSV500MB(b *testing.B) {
	dir := csvBench(b)
	defer emptyTrash(b)
	shapeHeader(csvSection)
	benchShape(b, csvSection, "loopback", dir, "bench_csv", "--task", "tabular_classification")
	shaped(b, func() { benchShape(b, csvSection, "100 Mbit/s", dir, "bench_csv", "--task", "tabular_classification") })
	record(csvSection, "")
}
