//go:build linux

package agent

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// manifestEntry records one file of the staged copy as the swap left it.
type manifestEntry struct {
	Sum   string
	Size  int64
	Mtime int64
	Ctime int64
	Ino   uint64
}

// manifestHeader opens the manifest: one line per file follows,
// "<sha256> <size> <mtime> <ctime> <inode> <path>". Lines, not one JSON
// object, so that reading a manifest planted on the volume takes memory
// for one line at a time and for no more entries than the staged copy
// has files.
const manifestHeader = "tracebloc-manifest 2"

// maxManifestLine bounds a line of the manifest: a hash, four numbers and
// a path of at most 1024 bytes.
const maxManifestLine = 2048

// writeManifest records the hash of each file of the new copy with what
// stat says of it now. It is only a hint: a later push trusts an entry only
// while size, times and inode still match, and verifies the new copy in full.
//
// The stat taken as the copy was verified still holds after the swap (a
// rename of the folder changes no file), unless files were links to the
// previous copy: removing it changed their link count and ctime, so the
// new copy is walked again.
func (s *stager) writeManifest(t *dir) {
	files := s.verifiedInfo
	if s.relinked || files == nil {
		var err error
		if files, err = walk(t, nil); err != nil {
			return
		}
	}
	var b strings.Builder
	b.WriteString(manifestHeader + "\n")
	for rel, fi := range files {
		if sum, ok := s.verified[rel]; ok {
			fmt.Fprintf(&b, "%s %d %d %d %d %s\n", sum, fi.size, fi.mtime, fi.ctime, fi.ino, rel)
		}
	}
	if writeSmall(s.staging, s.manifestName(), []byte(b.String())) != nil {
		_ = s.staging.removeEntry(s.manifestName())
	}
}

// readManifest loads the manifest's entries for the files of the staged
// copy (want). Anything unreadable, or more entries than the copy has
// files, counts as no manifest: the files are hashed instead.
func readManifest(staging *dir, name string, want map[string]fileInfo) map[string]manifestEntry {
	man := map[string]manifestEntry{}
	f, _, err := staging.openFile(name)
	if err != nil {
		return man
	}
	defer f.Close()
	r := bufio.NewReaderSize(io.LimitReader(f, maxPlan), 4<<10)
	if line, err := readLine(r, maxManifestLine); err != nil || line != manifestHeader {
		return man
	}
	for n := 0; ; n++ {
		line, err := readLine(r, maxManifestLine)
		if errors.Is(err, io.EOF) && line == "" {
			return man
		}
		if err != nil || n >= len(want) {
			return map[string]manifestEntry{}
		}
		var e manifestEntry
		var rel string
		fields := strings.SplitN(line, " ", 6)
		if len(fields) != 6 || len(fields[0]) != 64 {
			return map[string]manifestEntry{}
		}
		e.Sum, rel = fields[0], fields[5]
		if _, err := fmt.Sscan(strings.Join(fields[1:5], " "), &e.Size, &e.Mtime, &e.Ctime, &e.Ino); err != nil {
			return map[string]manifestEntry{}
		}
		if _, ok := want[rel]; ok {
			man[rel] = e
		}
	}
}

// errLongLine is a line longer than its reader allows.
var errLongLine = errors.New("line too long")

// readLine reads one line of at most max bytes (without its newline) in
// memory for max bytes, whatever the input holds. A last line without a
// newline is returned with io.EOF.
func readLine(r *bufio.Reader, max int) (string, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) > max+1 {
			return "", errLongLine
		}
		line = append(line, chunk...)
		switch {
		case err == nil:
			return string(line[:len(line)-1]), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return string(line), err
		}
	}
}
