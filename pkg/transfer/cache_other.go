//go:build !unix

package transfer

import "github.com/tracebloc/kubectl-tracebloc/pkg/datafile"

// openNonblock is not needed here: no FIFO has a cache file's name.
const openNonblock = 0

// stamp is empty here: without a change time the cache could not tell a
// file whose mtime was put back, so nothing is cached.
type stamp struct{}

func stampOf(fileKey) stamp { return stamp{} }

func (f *localFile) stamp() stamp { return stamp{} }

func (e localEntry) key(datafile.File) (fileKey, bool) { return fileKey{}, false }

func (l *localRoot) statKey(datafile.File) (fileKey, fileID, bool) { return fileKey{}, fileID{}, false }

// compareFileID has nothing to order: no file is cached here.
func compareFileID(fileID, fileID) int { return 0 }
