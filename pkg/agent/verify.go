//go:build linux

package agent

import (
	"golang.org/x/sys/unix"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
)

// verify makes the partial copy exactly the plan: files it does not list
// are removed, every listed file must be there with its hash. A file with
// the wrong content is removed and reported, so the next round resends it.
//
// The partial copy is walked without a list of its own: each file is
// matched with its record in the plan as it is found.
func (s *stager) verify(rec *received) (int, int64, error) {
	plan := rec.plan
	if err := s.dropFolders(plan); err != nil {
		return 0, 0, err
	}
	for i := range plan.files {
		plan.files[i].seen = false
	}
	var toHash []int32
	var total int64
	var strays []string
	err := walkEach(s.data, func(parent *dir, name, _ string, _ *unix.Stat_t) { _ = parent.removeEntry(name) }, nil,
		func(folder, name string, info fileInfo) {
			j := plan.find(folder, name)
			if j < 0 {
				strays = append(strays, joinRel(folder, name))
				return
			}
			p := &plan.files[j]
			p.seen = true
			total += info.size
			// A hash tells only while the file is the one that was hashed:
			// the stream's file may have been replaced by a link since, or
			// the other way round.
			switch {
			case p.got.sum.known() && p.got.info == info:
			case s.resumedAs(folder, name, info, p):
			default:
				p.got = hashed{info: info}
				toHash = append(toHash, int32(j))
			}
		})
	if err != nil {
		return 0, 0, err
	}
	for _, rel := range strays {
		if parent, name, err := parentOf(s.data, rel); err == nil {
			_ = parent.removeEntry(name)
			closeUnless(parent, s.data)
		}
	}
	hashMany(s.data, len(toHash), func(k int) string { return plan.files[toHash[k]].rel }, func(k int, h hashed) {
		plan.files[toHash[k]].got = h
	}, s.workers)
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

// resumedAs takes the hash the inventory took of folder/name into p when
// the file is still the one it hashed.
func (s *stager) resumedAs(folder, name string, info fileInfo, p *planFile) bool {
	k := s.resumed.find(folder, name)
	if k < 0 || !s.resumed.files[k].known || s.resumed.files[k].info != info {
		return false
	}
	p.got = hashed{sum: s.resumed.files[k].sum, info: info}
	return true
}

// joinRel is the path of name in folder ("" for the top level).
func joinRel(folder, name string) string {
	if folder == "" {
		return name
	}
	return folder + "/" + name
}
