package dataset

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Limits is the size cap an admin may set on a push (--max-size). The
// zero value sets none: the stage agent reports the volume's free space
// and a push that cannot fit stops before it sends anything.
type Limits struct {
	// MaxTotalBytes caps the bytes of the whole dataset; 0 is no cap.
	MaxTotalBytes int64
}

// DefaultLimits sets no cap: the volume is the limit.
var DefaultLimits = Limits{}

// over says whether a dataset of total bytes is over the cap, and why.
func (l Limits) over(total int64) (string, bool) {
	if l.MaxTotalBytes <= 0 || total <= l.MaxTotalBytes {
		return "", false
	}
	have, limit := HumanBytes(total), HumanBytes(l.MaxTotalBytes)
	if have == limit {
		// Over by less than the rounding: the bytes say by how much.
		have, limit = fmt.Sprintf("%s (%d bytes)", have, total), fmt.Sprintf("%s (%d bytes)", limit, l.MaxTotalBytes)
	}
	return fmt.Sprintf("the dataset holds %s, over the --max-size cap of %s: push a smaller dataset, split it into several tables, or raise --max-size",
		have, limit), true
}

// CrowdedFolder is how many files one folder may hold before a push warns:
// past it, listing the folder (the ingestor does, and so do the tools a
// user inspects the volume with) gets slow on most filesystems.
const CrowdedFolder = 100_000

// CrowdedFolders returns a note for each folder of files that holds more
// than CrowdedFolder files. Such a folder is staged all the same.
func CrowdedFolders(files []File) []string {
	counts := map[string]int{}
	for _, f := range files {
		folder := ""
		if i := strings.LastIndexByte(f.Rel, '/'); i >= 0 {
			folder = f.Rel[:i]
		}
		counts[folder]++
	}
	var notes []string
	for folder, n := range counts {
		if n <= CrowdedFolder {
			continue
		}
		name := folder + "/"
		if folder == "" {
			name = "the dataset's top folder"
		}
		notes = append(notes, fmt.Sprintf("%s holds %d files, over %d in one folder: it is staged all the same, but listing it is slow on most filesystems (the ingestor lists it too); a dataset this size may be better split into several tables",
			name, n, CrowdedFolder))
	}
	return notes
}

// sizeUnits are the units ParseBytes takes, lower case: decimal (k, M, G,
// T, P, with or without B) and binary (Ki, Mi, Gi, Ti, Pi, with or without B).
var sizeUnits = map[string]float64{
	"": 1, "b": 1,
	"k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12, "p": 1e15, "pb": 1e15,
	"ki": 1 << 10, "kib": 1 << 10, "mi": 1 << 20, "mib": 1 << 20, "gi": 1 << 30, "gib": 1 << 30,
	"ti": 1 << 40, "tib": 1 << 40, "pi": 1 << 50, "pib": 1 << 50,
}

// ParseBytes reads a size such as 10G, 500Mi, 1.5TiB or 2000000 (bytes).
// G, M, k and T are powers of 1000 and Gi, Mi, Ki and Ti powers of 1024,
// as Kubernetes quantities write them; a trailing B is allowed.
func ParseBytes(s string) (int64, error) {
	v := strings.TrimSpace(s)
	i := strings.IndexFunc(v, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		i = len(v)
	}
	num, unit := v[:i], strings.ToLower(strings.TrimSpace(v[i:]))
	mult, ok := sizeUnits[unit]
	if !ok || num == "" {
		return 0, fmt.Errorf("%q is not a size", s)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size", s)
	}
	n := f * mult
	if n < 1 || n >= math.MaxInt64 {
		return 0, fmt.Errorf("%q is out of range", s)
	}
	return int64(n), nil
}
