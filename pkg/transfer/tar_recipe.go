package transfer

import (
	"archive/tar"
	"io"
	"maps"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
	"github.com/tracebloc/kubectl-tracebloc/pkg/datafile"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// writeRecipe writes the data entry of f as its recipe (from the offset
// the stream continues it at): copy ops for the ranges the staged file
// holds, the local bytes of the others. The local file is not hashed
// again here: it was hashed for the plan, and the agent checks the file it
// builds against that hash, so a file that changed since fails there and
// is sent whole in the next round.
func (s *tarSource) writeRecipe(tw *tar.Writer, f datafile.File, rc *recipe) error {
	name, err := EntryName(f.Rel)
	if err != nil {
		return exitcode.Wrap(exitcode.Local, err)
	}
	_, e, _ := s.local.lookup(f.Rel, -1)
	fh, err := s.root.open(f, &e.id)
	if err != nil {
		return err
	}
	defer func() { _ = fh.Close() }()
	off, pax := s.plan.resumeOf(f)
	ops := rc.from(off)
	_, _, size := recipeSizes(ops)
	records := map[string]string{proto.PAXRecipe: "1"}
	maps.Copy(records, pax)
	hdr := &tar.Header{Name: name, Mode: 0o644, Size: size, ModTime: fh.mtime.Truncate(time.Second), Typeflag: tar.TypeReg, PAXRecords: records}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if s.buf == nil {
		s.buf = make([]byte, 256<<10)
	}
	var head []byte
	for _, op := range ops {
		if op.copy {
			if _, err := tw.Write(proto.AppendCopyOp(head[:0], op.src, op.n)); err != nil {
				return err
			}
			continue
		}
		if _, err := tw.Write(proto.AppendDataHeader(head[:0], op.n)); err != nil {
			return err
		}
		if err := fh.seek(op.at); err != nil {
			return exitcode.Errorf(exitcode.Local, "reading %s: %w", f.Source(), err)
		}
		n, err := io.CopyBuffer(io.MultiWriter(tw, progressWriter(s.progress)), io.LimitReader(fh, op.n), s.buf)
		if err != nil {
			return err
		}
		if n != op.n {
			return changed(f)
		}
	}
	if !fh.unchanged() {
		return changed(f)
	}
	return nil
}
