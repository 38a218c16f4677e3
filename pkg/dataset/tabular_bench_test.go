package dataset

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/category"
	"github.com/tracebloc/kubectl-tracebloc/pkg/csvread"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
	"github.com/tracebloc/kubectl-tracebloc/pkg/spec"
)

// benchCSV is the CSV the benchmarks read: $TRACEBLOC_BENCH_CSV (e.g. a
// 1 GiB file from hack/gentext), else a 32 MiB one generated here.
func benchCSV(b *testing.B, task string) string {
	b.Helper()
	if p := os.Getenv("TRACEBLOC_BENCH_CSV"); p != "" {
		return p
	}
	p := filepath.Join(b.TempDir(), "bench.csv")
	if _, err := fixture.WriteTabular(p, fixture.TabularOptions{Task: task, Bytes: 32 << 20}); err != nil {
		b.Fatal(err)
	}
	return p
}

// countLines is the baseline: a plain read of the file counting newlines,
// what `wc -l` does.
func countLines(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	n := 0
	for {
		k, err := f.Read(buf)
		n += bytes.Count(buf[:k], []byte{'\n'})
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

func BenchmarkLineCount(b *testing.B) {
	p := benchCSV(b, "tabular_classification")
	st, err := os.Stat(p)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	cpu0 := cpuTime(b)
	for b.Loop() {
		if n, err := countLines(p); err != nil || n == 0 {
			b.Fatalf("counted %d lines: %v", n, err)
		}
	}
	reportCPU(b, cpu0, st.Size())
}

func benchTabular(b *testing.B, task, label string) {
	p := benchCSV(b, task)
	st, err := os.Stat(p)
	if err != nil {
		b.Fatal(err)
	}
	tk, _ := category.Lookup(task)
	o := TabularOptionsFor(tk, label, spec.PolicyBucket, "time", nil, Limits{})
	b.SetBytes(st.Size())
	cpu0 := cpuTime(b)
	for b.Loop() {
		tb, err := CheckTabular(p, o)
		if err != nil {
			b.Fatal(err)
		}
		if tb.Rows == 0 {
			b.Fatal("no rows")
		}
	}
	reportCPU(b, cpu0, st.Size())
}

// reportCPU adds the CPU time per run and the throughput per CPU second:
// on a shared machine the wall time says little about the work done.
func reportCPU(b *testing.B, since time.Duration, size int64) {
	b.Helper()
	cpu := (cpuTime(b) - since) / time.Duration(b.N)
	b.ReportMetric(float64(cpu.Nanoseconds()), "cpu-ns/op")
	b.ReportMetric(float64(size)/cpu.Seconds()/1e6, "MB/cpu-s")
}

func BenchmarkCheckTabularClassification(b *testing.B) {
	benchTabular(b, "tabular_classification", "label")
}

func BenchmarkCheckTimeSeriesClassification(b *testing.B) {
	benchTabular(b, "time_series_classification", "label")
}

// BenchmarkCSVStream is the record splitting alone, every record of the
// file read and dropped.
func BenchmarkCSVStream(b *testing.B) {
	p := benchCSV(b, "tabular_classification")
	st, err := os.Stat(p)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	cpu0 := cpuTime(b)
	for b.Loop() {
		f, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		s, n := csvread.NewStream(f, p), 0
		for {
			_, err := s.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		f.Close()
		if n == 0 {
			b.Fatal("no records")
		}
	}
	reportCPU(b, cpu0, st.Size())
}

// BenchmarkCSVRows is the record splitting as the tabular check runs it, on
// a goroutine of its own a few batches ahead; the records are dropped.
func BenchmarkCSVRows(b *testing.B) {
	p := benchCSV(b, "tabular_classification")
	st, err := os.Stat(p)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	cpu0 := cpuTime(b)
	for b.Loop() {
		f, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		s := csvread.NewStream(f, p)
		if _, err := s.Read(); err != nil {
			b.Fatal(err)
		}
		rows, n := readAhead(s, nil), 0
		for {
			_, err := rows.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		rows.Close()
		f.Close()
		if n == 0 {
			b.Fatal("no records")
		}
	}
	reportCPU(b, cpu0, st.Size())
}
