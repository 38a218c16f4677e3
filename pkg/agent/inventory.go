//go:build linux

package agent

import (
	"os"

	"golang.org/x/sys/unix"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
)

// inventory hashes what the partial copy holds and looks up what the staged
// copy holds (from the manifest where a file is unchanged since it was
// written, by hashing otherwise).
func (s *stager) inventory() (proto.Message, error) {
	m := proto.Message{T: proto.MsgInventory, Staged: map[string]string{}, Partial: map[string]string{}}
	uid := uint32(os.Geteuid())
	// The partial copy: only files this uid wrote and nobody else links to;
	// anything else is dropped by name (a hard link would let a write land
	// in another file, and another owner could change it later).
	files, err := walk(s.data, func(parent *dir, name, _ string, _ *unix.Stat_t) { _ = parent.removeEntry(name) })
	if err != nil {
		return m, err
	}
	// A file the stream broke off in is not hashed: its checkpoint says
	// how much of it is good.
	s.loadCut()
	if s.cut != nil {
		m.Cut = &proto.Cut{Rel: s.cut.Rel, Offset: s.cut.Offset, Sum: s.cut.prefixSum()}
	}
	var toHash []string
	for rel, fi := range files {
		if s.cut != nil && rel == s.cut.Rel {
			continue
		}
		if fi.uid != uid || fi.nlink != 1 || proto.CheckRel(rel) != nil {
			if parent, name, err := parentOf(s.data, rel); err == nil {
				_ = parent.removeEntry(name)
				closeUnless(parent, s.data)
			}
			continue
		}
		toHash = append(toHash, rel)
	}
	s.resumed = hashMany(s.data, toHash, s.workers)
	for rel, h := range s.resumed {
		m.Partial[rel] = h.sum
	}
	// The staged copy.
	staged, err := s.staging.openDir(s.table)
	if err == nil {
		files, werr := walk(staged, nil)
		if werr != nil {
			staged.close()
			return m, werr
		}
		man := readManifest(s.staging, s.manifestName(), files)
		var unknown []string
		for rel, fi := range files {
			// As in the partial copy: a file another name links to (a hard
			// link planted from outside the table) is not offered for reuse.
			if fi.uid != uid || fi.nlink != 1 || proto.CheckRel(rel) != nil {
				continue
			}
			if e, ok := man[rel]; ok && e.Size == fi.size && e.Mtime == fi.mtime && e.Ino == fi.ino && e.Ctime == fi.ctime {
				m.Staged[rel] = e.Sum
				continue
			}
			unknown = append(unknown, rel)
		}
		for rel, h := range hashMany(staged, unknown, s.workers) {
			m.Staged[rel] = h.sum
		}
		staged.close()
	}
	m.Ingested = ingested(s.shared, s.table)
	return m, nil
}

// ingested reports whether /data/shared/<table> holds anything: the
// ingestor refuses to ingest into it then.
func ingested(shared *dir, table string) bool {
	st, err := shared.stat(table)
	if err != nil {
		return false
	}
	if !isDir(st) {
		return true
	}
	d, err := shared.openDir(table)
	if err != nil {
		return true
	}
	defer d.close()
	names, err := d.names()
	return err != nil || len(names) > 0
}
