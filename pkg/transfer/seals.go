package transfer

import (
	"bufio"
	"bytes"
	"encoding/hex"
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
// Beside a seal, the digest of what stat said of every local file whose
// content that copy holds (filesDigest): a push that finds the same lets
// the agent confirm the seal without listing the staged files.
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

// lines reads the recorded "<table> <seal>" and "<table> <seal>
// <files>" lines, oldest first.
func (s *Seals) lines() []string {
	b, err := readCacheFile(s.path, maxSeals*512)
	if err != nil {
		return nil
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if t := sc.Text(); strings.Count(t, " ") == 1 || strings.Count(t, " ") == 2 {
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
		if l == table+" "+seal || strings.HasPrefix(l, table+" "+seal+" ") {
			return true
		}
	}
	return false
}

// sealed is table's seal with the digest of the local files the push
// that recorded it had (filesDigest), when it recorded one.
func (s *Seals) sealed(table string) (seal string, files digest, ok bool) {
	if s == nil {
		return "", files, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.lines() {
		f := strings.Split(l, " ")
		if len(f) != 3 || f[0] != table {
			continue
		}
		if b, err := hex.DecodeString(f[2]); err == nil && len(b) == len(files) && f[1] != "" {
			seal = f[1]
			copy(files[:], b)
			ok = true
		}
	}
	return seal, files, ok
}

// Record keeps seal as table's latest, dropping the table's earlier ones
// (their copies are gone) and the oldest past maxSeals.
func (s *Seals) Record(table, seal string) error { return s.record(table, seal, nil) }

// record is Record, with files (nil: none) the digest of the local files
// whose content the sealed copy holds.
func (s *Seals) record(table, seal string, files *digest) error {
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
	line := table + " " + seal
	if files != nil {
		line += " " + files.hex()
	}
	keep = append(keep, line)
	if len(keep) > maxSeals {
		keep = keep[len(keep)-maxSeals:]
	}
	return replaceCacheFile(s.path, []byte(strings.Join(keep, "\n")+"\n"))
}
