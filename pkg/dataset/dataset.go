// Package dataset walks and checks a local image-classification dataset
// (labels.csv + images/) before anything touches the cluster. It returns a
// value and prints nothing.
package dataset

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// Layout names.
const (
	LabelsFile     = "labels.csv"
	ImagesDir      = "images"
	FilenameColumn = "filename"
)

// Limits are the size caps of a dataset.
type Limits struct {
	MaxFileBytes  int64
	MaxTotalBytes int64
}

// DefaultLimits are the caps of the first release: 500 MiB a file, 1 GiB in all.
var DefaultLimits = Limits{MaxFileBytes: 500 << 20, MaxTotalBytes: 1 << 30}

// File is one file that push stages.
type File struct {
	// Rel is the slash-separated path under the dataset root: "labels.csv" or
	// "images/<name>".
	Rel string
	// Local is the path under the dataset root to read the file from, when
	// it differs from Rel (a tabular CSV is staged as labels.csv); empty
	// means Rel.
	Local   string
	Size    int64
	ModTime time.Time
}

// Source is the slash-separated path under the dataset root the file is read from.
func (f File) Source() string {
	if f.Local != "" {
		return f.Local
	}
	return f.Rel
}

// Dataset is a checked dataset, ready to stage.
type Dataset struct {
	Root      string
	Files     []File
	Bytes     int64
	Images    int
	Extension string
	Width     int
	Height    int
	Rows      int
	// Labels counts the rows of each label value.
	Labels map[string]int
	// Notes are findings that do not stop a push.
	Notes []string
}

// Options select the label column and the caps.
type Options struct {
	LabelColumn string
	Limits      Limits
}

// Problems is every reason a dataset cannot be pushed.
type Problems struct {
	Root string
	List []string
}

func (p *Problems) Error() string {
	if len(p.List) == 1 {
		return fmt.Sprintf("dataset %s: %s", p.Root, p.List[0])
	}
	return fmt.Sprintf("dataset %s has %d problems:\n  - %s", p.Root, len(p.List), strings.Join(p.List, "\n  - "))
}

func (p *Problems) addf(format string, args ...any) {
	p.List = append(p.List, fmt.Sprintf(format, args...))
}

// Check walks root and checks layout, sizes, labels.csv and the images. Every
// problem found is reported at once; the error exits 3.
func Check(root string, opts Options) (*Dataset, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, exitcode.Errorf(exitcode.Local, "resolving %s: %w", root, err)
	}
	probs := &Problems{Root: root}
	ds := &Dataset{Root: abs}
	if err := checkLayout(abs, root); err != nil {
		return nil, err
	}
	images := walkImages(abs, ds, probs, opts.Limits)
	checkLabels(abs, opts.LabelColumn, images, ds, probs)
	checkImages(abs, ds, probs)
	if ds.Bytes > opts.Limits.MaxTotalBytes {
		probs.addf("the dataset holds %s, over the %s cap of this release: push a smaller dataset or split it into several tables",
			HumanBytes(ds.Bytes), HumanBytes(opts.Limits.MaxTotalBytes))
	}
	if len(probs.List) > 0 {
		return nil, exitcode.Wrap(exitcode.Local, probs)
	}
	return ds, nil
}

// HumanBytes renders n in binary units, as the caps are written.
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// listFirst names the first few items and says how many more there are.
func listFirst(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s (and %d more)", strings.Join(items[:n], ", "), len(items)-n)
}
