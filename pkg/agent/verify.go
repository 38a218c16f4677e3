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
	if err := s.dropFolders(rec.plan); err != nil {
		return 0, 0, err
	}
	actual := map[string]string{}
	var toHash []string
	var total int64
	for rel, fi := range files {
		if _, want := rec.plan.Expected[rel]; !want {
			if parent, name, err := parentOf(s.data, rel); err == nil {
				_ = parent.removeEntry(name)
				closeUnless(parent, s.data)
			}
			continue
		}
		total += fi.size
		// A hash tells only while the file is the one that was hashed: the
		// stream's file may have been replaced by a link since, or the
		// other way round.
		switch {
		case rec.sums[rel].sum != "" && rec.sums[rel].info == fi:
			actual[rel] = rec.sums[rel].sum
		case rec.reused[rel].sum != "" && rec.reused[rel].info == fi:
			actual[rel] = rec.reused[rel].sum
		case s.resumed[rel].sum != "" && s.resumed[rel].info == fi:
			actual[rel] = s.resumed[rel].sum
		default:
			toHash = append(toHash, rel)
		}
	}
	for rel, h := range hashMany(s.data, toHash, s.workers) {
		actual[rel] = h.sum
	}
	bad := false
	for rel, want := range rec.plan.Expected {
		got, ok := actual[rel]
		if ok && got == want {
			continue
		}
		bad = true
		if ok {
			if parent, name, err := parentOf(s.data, rel); err == nil {
				_ = parent.removeEntry(name)
				closeUnless(parent, s.data)
			}
			delete(actual, rel)
		}
	}
	if bad {
		s.send(proto.Message{T: proto.MsgMismatch, Actual: actual})
		return 0, 0, failf(proto.KindMismatch, "files on the volume differ from the plan")
	}
	s.verified = actual
	s.verifiedInfo = make(map[string]fileInfo, len(actual))
	for rel := range actual {
		s.verifiedInfo[rel] = files[rel]
	}
	s.relinked = len(rec.reused) > 0
	return len(actual), total, nil
}
