package transfer

import (
	"bufio"
	"bytes"
	"path/filepath"
	"strings"
	"sync"
)

// Seals remembers, in the user's cache folder, the seal of each staged
// copy a push of this user swapped in: the agent's name for the copy's
// manifest as written (its content hash, device, inode and change time).
// A later push that gets the same seal back from the inventory knows the
// manifest is the one that push wrote, not one rewritten since, and may
// ask the agent to keep the staged copy in place when nothing changed;
// the agent still checks every file against that manifest by stat.
type Seals struct {
	mu   sync.Mutex
	path string
}

// sealsFile is the seals' file in the cache folder (not a cache's name:
// trimming the caches leaves it).
const sealsFile = "staged-seals"

// maxSeals bounds the seals kept: the most recent ones.
const maxSeals = 256

// OpenSeals finds the seals' file; nil (no seal known, no copy kept) when
// the user has no cache folder.
func OpenSeals() *Seals {
	dir, err := cacheDir()
	if err != nil {
		return nil
	}
	return &Seals{path: filepath.Join(dir, sealsFile)}
}

// lines reads the recorded "<table> <seal>" lines, oldest first.
func (s *Seals) lines() []string {
	b, err := readCacheFile(s.path, maxSeals*512)
	if err != nil {
		return nil
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if t := sc.Text(); strings.Count(t, " ") == 1 {
			out = append(out, t)
		}
	}
	return out
}

// Known reports whether seal was recorded for table.
func (s *Seals) Known(table, seal string) bool {
	if s == nil || seal == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.lines() {
		if l == table+" "+seal {
			return true
		}
	}
	return false
}

// Record keeps seal as table's latest, dropping the table's earlier ones
// (their copies are gone) and the oldest past maxSeals.
func (s *Seals) Record(table, seal string) error {
	if s == nil || seal == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var keep []string
	for _, l := range s.lines() {
		if !strings.HasPrefix(l, table+" ") {
			keep = append(keep, l)
		}
	}
	keep = append(keep, table+" "+seal)
	if len(keep) > maxSeals {
		keep = keep[len(keep)-maxSeals:]
	}
	return replaceCacheFile(s.path, []byte(strings.Join(keep, "\n")+"\n"))
}
