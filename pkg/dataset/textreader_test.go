package dataset

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestLabelsCSVLongLineIsBounded: a labels.csv that is one huge line (a
// sparse file of NUL bytes, a line without a newline, an unclosed quote)
// is refused after a bounded read, not buffered whole: a 4 GiB one would
// otherwise take the pre-flight's memory past the machine's.
func TestLabelsCSVLongLineIsBounded(t *testing.T) {
	const size = 64 << 20
	tests := []struct {
		name  string
		write func(t *testing.T, path string)
		want  string
		// maxAlloc bounds the bytes the check allocates: a few copies of
		// the 16 MiB record bound (CSVStream's buffer), whatever the
		// file's size.
		maxAlloc uint64
	}{
		{"sparse file of NUL bytes", func(t *testing.T, path string) {
			must(t, os.Truncate(path, size))
		}, "labels.csv line 6 holds a NUL byte", 8 << 20},
		{"one line without a newline", func(t *testing.T, path string) {
			appendBytes(t, path, strings.Repeat("a", size))
		}, "labels.csv line 6 starts a record longer than 16.0 MiB", 160 << 20},
		{"an unclosed quote", func(t *testing.T, path string) {
			appendBytes(t, path, `x.jpg,"`+strings.Repeat("a\n", size/2))
		}, "labels.csv line 6 starts a record longer than 16.0 MiB: check the quoting", 160 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := validDataset(t)
			tt.write(t, filepath.Join(dir, LabelsFile))
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := Check(dir, Options{LabelColumn: "label", Limits: DefaultLimits})
			runtime.ReadMemStats(&after)
			if got, max := after.TotalAlloc-before.TotalAlloc, tt.maxAlloc*allocFactor; got > max {
				t.Errorf("the check allocated %s, want at most %s", HumanBytes(int64(got)), HumanBytes(int64(max)))
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Check = %v, want %q", err, tt.want)
			}
		})
	}
}

func appendBytes(t *testing.T, path, data string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	must(t, err)
	_, err = f.WriteString(data)
	must(t, err)
	must(t, f.Close())
}

// TestLabelsCSVManyMissingRowsIsBounded: rows that name files not in
// images/ are counted with a few examples, not each kept: a labels.csv of
// millions of such rows (within the 500 MiB cap) would otherwise hold every
// name several times over.
func TestLabelsCSVManyMissingRowsIsBounded(t *testing.T) {
	const rows = 1_000_000
	dir := validDataset(t)
	var b strings.Builder
	for i := range rows {
		fmt.Fprintf(&b, "g%09d.jpg,cat\n", i)
	}
	for range rows / 10 {
		b.WriteString(",cat\n") // an empty filename
	}
	appendBytes(t, filepath.Join(dir, LabelsFile), b.String())
	b.Reset()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Check(dir, Options{LabelColumn: "label", Limits: DefaultLimits})
	runtime.ReadMemStats(&after)
	if got, max := after.TotalAlloc-before.TotalAlloc, uint64(96<<20)*allocFactor; got > max {
		t.Errorf("the check allocated %s for %d rows, want at most %s", HumanBytes(int64(got)), rows, HumanBytes(int64(max)))
	}
	p := problemsOf(err)
	if p == nil {
		t.Fatalf("Check = %v, want the missing files named", err)
	}
	// The fixture's header and 4 rows are lines 1 to 5; the empty names
	// follow the missing files.
	first := 6 + rows
	want := []string{
		fmt.Sprintf("%d rows of labels.csv name files that are not in images/: g000000000.jpg, g000000001.jpg, g000000002.jpg, g000000003.jpg, g000000004.jpg (and %d more): put those files in images/ or remove their rows", rows, rows-5),
		fmt.Sprintf("%d rows of labels.csv have an empty filename: line %d, line %d, line %d, line %d, line %d (and %d more)", rows/10, first, first+1, first+2, first+3, first+4, rows/10-5),
	}
	if diff := cmp.Diff(want, p.List); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}
