//go:build linux

package agent

import (
	"golang.org/x/sys/unix"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
)

// verify makes the partial copy exactly the plan: files it does not list
// are removed, every listed file must be there with its hash. A file with
// the wrong content is removed and reported, so the next round resends it.
func (s *stager) verify(rec *received) (int, int64, error) {
	files, err := walk(s.data, func(parent *dir, name, _ string, _ *unix.Stat_t) { _ = parent.removeEntry(name) })
	if err != nil {
		return 0, 0, err
	}
	plan := rec.plan
	if err := s.dropFolders(plan); err != nil {
		return 0, 0, err
	}
	for i := range plan.files {
		plan.files[i].seen = false
	}
	var toHash []int32
	var total int64
	for i := range files.files {
		f := &files.files[i]
		folder := files.folderOf(i)
		j := plan.find(folder, f.name)
		if j < 0 {
			if parent, name, err := parentOf(s.data, files.rel(i)); err == nil {
				_ = parent.removeEntry(name)
				closeUnless(parent, s.data)
			}
			continue
		}
		p := &plan.files[j]
		p.seen = true
		total += f.info.size
		// A hash tells only while the file is the one that was hashed: the
		// stream's file may have been replaced by a link since, or the
		// other way round.
		if p.got.sum.known() && p.got.info == f.info {
			f.sum, f.known = p.got.sum, true
			continue
		}
		if k := s.resumed.find(folder, f.name); k >= 0 && s.resumed.files[k].known && s.resumed.files[k].info == f.info {
			f.sum, f.known = s.resumed.files[k].sum, true
			continue
		}
		toHash = append(toHash, int32(i))
	}
	hashListed(s.data, files, toHash, s.workers)
	for i := range files.files {
		if j := plan.find(files.folderOf(i), files.files[i].name); j >= 0 {
			plan.files[j].got = hashed{}
			if f := &files.files[i]; f.known {
				plan.files[j].got = hashed{sum: f.sum, info: f.info}
			}
		}
	}
	n, bad := 0, false
	for j := range plan.files {
		p := &plan.files[j]
		if p.seen && p.got.sum.known() && p.got.sum == p.want {
			n++
			continue
		}
		bad = true
		if p.seen {
			if parent, name, err := parentOf(s.data, p.rel); err == nil {
				_ = parent.removeEntry(name)
				closeUnless(parent, s.data)
			}
			p.seen = false
		}
	}
	if bad {
		s.sendSums(proto.Message{T: proto.MsgMismatch}, sumField{"actual", func(put func(rel string, sum digest)) {
			for j := range plan.files {
				if p := &plan.files[j]; p.seen {
					put(p.rel, p.got.sum)
				}
			}
		}})
		return 0, 0, failf(proto.KindMismatch, "files on the volume differ from the plan")
	}
	s.verified = plan
	s.relinked = false
	for j := range plan.files {
		if plan.files[j].reuse {
			s.relinked = true
			break
		}
	}
	return n, total, nil
}
