//go:build linux

package agent

import (
	"os"

	"golang.org/x/sys/unix"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
)

// inventory hashes what the partial copy holds and looks up what the staged
// copy holds (from the manifest where a file is unchanged since it was
// written, by hashing otherwise), and sends both in one message.
func (s *stager) inventory() error {
	uid := uint32(os.Geteuid())
	// The partial copy: only files this uid wrote and nobody else links to;
	// anything else is dropped by name (a hard link would let a write land
	// in another file, and another owner could change it later).
	partial, err := walk(s.data, func(parent *dir, name, _ string, _ *unix.Stat_t) { _ = parent.removeEntry(name) })
	if err != nil {
		return err
	}
	// A file the stream broke off in is not hashed: its checkpoint says
	// how much of it is good.
	s.loadCut()
	var toHash []int32
	for i := range partial.files {
		fi, rel := partial.files[i].info, partial.rel(i)
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
		toHash = append(toHash, int32(i))
	}
	hashListed(s.data, partial, toHash, s.workers)
	s.resumed = partial
	m := proto.Message{T: proto.MsgInventory, Ingested: ingested(s.shared, s.table), Space: volumeSpace(s.shared)}
	if s.confirmSealed(partial) {
		// The copy the plugin recorded, checked: no file needs listing.
		m.Seal, m.Sealed = s.sealed, s.confirmed.files
		s.send(m)
		return nil
	}
	// The staged copy.
	var staged *fileList
	var chunks map[string]*proto.ChunkList
	seal := ""
	if d, err := s.staging.openDir(s.table); err == nil {
		staged, err = walk(d, nil)
		if err != nil {
			d.close()
			return err
		}
		seal = readSealed(s.staging, s.manifestName(), staged)
		var unknown []int32
		for i := range staged.files {
			f := &staged.files[i]
			// As in the partial copy: a file another name links to (a hard
			// link planted from outside the table) is not offered for reuse.
			if f.info.uid != uid || f.info.nlink != 1 || proto.CheckRel(staged.rel(i)) != nil {
				f.known = false
				continue
			}
			if !f.known {
				unknown = append(unknown, int32(i))
			}
		}
		hashListed(d, staged, unknown, s.workers)
		chunks = s.cutStaged(d, staged)
		d.close()
	}
	m.Chunks, m.Seal = chunks, seal
	if s.cut != nil {
		m.Cut = &proto.Cut{Rel: s.cut.Rel, Offset: s.cut.Offset, Sum: s.cut.prefixSum()}
	}
	s.sendSums(m, sumField{"staged", staged.each}, sumField{"partial", partial.each})
	return nil
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
