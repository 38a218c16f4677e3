// The second half of planning (MakePlan in plan.go decides which files the
// volume already holds whole): a file the last stream broke off in is
// continued from the agent's checkpoint when the local file still starts
// with what the volume holds.

package transfer

import (
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"strconv"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
	"github.com/tracebloc/kubectl-tracebloc/pkg/datafile"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// resumeAt is where the stream continues a file it broke off in before:
// the volume holds its first offset bytes, the same as the local file's.
type resumeAt struct {
	rel    string
	offset int64
	// state is the SHA-256 state after the local file's first offset
	// bytes: the stream hashes on from it, so the file's hash still covers
	// every byte.
	state []byte
	// id is the file whose start was read: the stream sends the rest of
	// that file or nothing.
	id fileID
}

// resumeCut makes the plan continue the file the agent reports cut, when
// that file is to be sent and its local start still has the digest the
// agent has of its copy. A file changed since, or one the stream is not
// sending anyway, is left alone: it is sent whole, or not at all.
func (p *Plan) resumeCut(root string, cut *proto.Cut) error {
	if cut == nil {
		return nil
	}
	var f *datafile.File
	for i := range p.Send {
		if p.Send[i].Rel == cut.Rel {
			f = &p.Send[i]
			break
		}
	}
	if f == nil || cut.Offset <= 0 || cut.Offset > f.Size {
		return nil
	}
	var want *fileID
	if _, e, ok := p.local.lookup(f.Rel, -1); ok {
		want = &e.id
	}
	r, err := openLocalRoot(root)
	if err != nil {
		return exitcode.Wrap(exitcode.Local, err)
	}
	defer r.close()
	fh, err := r.open(*f, want)
	if err != nil {
		return err
	}
	defer func() { _ = fh.Close() }()
	h := sha256.New()
	n, err := io.CopyBuffer(h, io.LimitReader(fh, cut.Offset), make([]byte, 256<<10))
	if err != nil {
		return exitcode.Errorf(exitcode.Local, "reading %s: %w", f.Source(), err)
	}
	if n != cut.Offset || !fh.unchanged() || hex.EncodeToString(h.Sum(nil)) != cut.Sum {
		return nil
	}
	state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return err
	}
	p.resume = &resumeAt{rel: f.Rel, offset: cut.Offset, state: state, id: fh.id}
	p.ResumeBytes = cut.Offset
	p.SendBytes -= cut.Offset
	return nil
}

// resumeOf is the offset f's entry starts at (0: the whole file), with the
// PAX record that tells the agent so.
func (p *Plan) resumeOf(f datafile.File) (int64, map[string]string) {
	if p.resume == nil || p.resume.rel != f.Rel {
		return 0, nil
	}
	return p.resume.offset, map[string]string{proto.PAXOffset: strconv.FormatInt(p.resume.offset, 10)}
}

// resumedHash is the SHA-256 of the file's first offset bytes, to hash on
// from.
func (r *resumeAt) resumedHash() (hash.Hash, error) {
	h := sha256.New()
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(r.state); err != nil {
		return nil, fmt.Errorf("resuming %s: %w", r.rel, err)
	}
	return h, nil
}
