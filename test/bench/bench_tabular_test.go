//go:build e2e

package bench

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
)

// BenchmarkTabularPreflight1GiB times the dry run of a 1 GiB CSV (the whole
// pre-flight: every row streamed and checked, schema inferred) next to a
// plain line count of the same file, and the plugin's peak RSS. No size cap
// stops it (there is none without --max-size): the verdict is the scan's.
func BenchmarkTabularPreflight1GiB(b *testing.B) {
	p := filepath.Join(b.TempDir(), "big.csv")
	if _, err := fixture.WriteTabular(p, fixture.TabularOptions{Task: "tabular_classification", Bytes: 1 << 30}); err != nil {
		b.Fatal(err)
	}
	count := func() time.Duration {
		start := time.Now()
		f, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		buf := make([]byte, 1<<20)
		n := 0
		for {
			k, err := f.Read(buf)
			n += bytes.Count(buf[:k], []byte{'\n'})
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	count() // warm the page cache for both
	lc := count()
	r := timed(b, nil, plugin, "push", p, "--table", "bench_tabular", "--task", "tabular_classification", "-n", ns, "--dry-run", "-q")
	if r.code != 0 {
		b.Fatalf("dry run:\n%s", r.out)
	}
	record("Tabular pre-flight", "| 1 GiB CSV | wall time | vs a plain line count (%.2f s) | peak RSS |\n| --- | --- | --- | --- |", lc.Seconds())
	record("Tabular pre-flight", "| `push --dry-run`, tabular_classification, schema inferred | %.2f s | %.1f× | %.1f MiB |",
		r.took.Seconds(), r.took.Seconds()/lc.Seconds(), float64(r.maxRSS)/1024)
}
