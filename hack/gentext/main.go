// Command gentext writes a sample text or tabular dataset for one task, for
// tests, the demo and the benchmarks.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
)

func main() {
	task := flag.String("task", "text_classification", "task: a text task writes <out>/labels.csv and texts/; a tabular task writes the CSV <out>")
	files := flag.Int("files", 20, "text tasks: number of text files")
	rows := flag.Int("rows", 1000, "tabular tasks: number of rows (ignored with -bytes)")
	size := flag.String("bytes", "", "tabular tasks: grow the CSV to this size instead, e.g. 1GiB, 100MiB")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: gentext -task <task> [flags] <out>")
		os.Exit(2)
	}
	out := flag.Arg(0)
	var err error
	if strings.HasPrefix(*task, "tabular_") || strings.HasPrefix(*task, "time_") {
		var n int64
		if n, err = parseSize(*size); err == nil {
			if err = os.MkdirAll(filepath.Dir(out), 0o755); err == nil {
				r := *rows
				if n > 0 {
					r = 0
				}
				_, err = fixture.WriteTabular(out, fixture.TabularOptions{Task: *task, Rows: r, Bytes: n})
			}
		}
	} else {
		err = fixture.WriteText(out, fixture.TextOptions{Task: *task, Files: *files})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func parseSize(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			var n int64
			if _, err := fmt.Sscan(num, &n); err != nil || n <= 0 {
				return 0, fmt.Errorf("-bytes %q: write a positive size such as 1GiB", s)
			}
			return n * u.mult, nil
		}
	}
	return 0, fmt.Errorf("-bytes %q: write a size such as 1GiB, 100MiB or 4096B", s)
}
