// Package datafile names one file of a dataset as a push sends it: where it
// is read from and where it is staged. The local checks (pkg/dataset) list
// them; the stream (pkg/transfer) sends them without knowing what a dataset
// is.
package datafile

import "time"

// File is one file that push stages.
type File struct {
	// Rel is the slash-separated path under the dataset root it is staged
	// as: "labels.csv" or "<folder>/<name>".
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
