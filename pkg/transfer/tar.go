package transfer

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
	"github.com/tracebloc/kubectl-tracebloc/pkg/datafile"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// tarSource writes the stream: the plan first, then each file to send under
// data/. Each file is read through the dataset root, must be the very file
// the push hashed, and is hashed again on the way.
type tarSource struct {
	root     *localRoot
	plan     Plan
	files    []datafile.File
	local    *Local
	progress func(n int64)
	// stop ends the stream (Ctrl-C): cleanly between two files, every file
	// sent so far whole in the partial copy; inside a file, at once after
	// the buffer in flight (the agent keeps every byte that arrived and the
	// next push continues the file from there: a big file is not sent to
	// its end first).
	stop <-chan struct{}
	buf  []byte
	// streamed are the files hashed only as they were sent, whose hashes
	// the plan left open: their indexes in local.
	streamed []int32
}

// EntryName is the tar name of a staged file: data/ and a path the stage
// agent accepts. It refuses anything that could land outside the copy.
func EntryName(rel string) (string, error) {
	if err := proto.CheckRel(rel); err != nil {
		return "", err
	}
	return proto.EntryData + rel, nil
}

func (s *tarSource) writeTo(w io.Writer) error {
	tw := tar.NewWriter(w)
	now := time.Now().Truncate(time.Second)
	size, err := s.plan.writeWire(io.Discard)
	if err != nil {
		return err
	}
	hdr := &tar.Header{Name: proto.EntryPlan, Mode: 0o644, Size: size, ModTime: now, Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := s.plan.writeWire(tw); err != nil {
		return err
	}
	for _, f := range s.files {
		select {
		case <-s.stop:
			hdr := &tar.Header{Name: proto.EntryInterrupted, Mode: 0o644, ModTime: now, Typeflag: tar.TypeReg}
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			return tw.Close()
		default:
		}
		if err := s.writeFile(tw, f); err != nil {
			return err
		}
	}
	if err := s.writeSums(tw, now); err != nil {
		return err
	}
	return tw.Close()
}

// sumsPerEntry bounds an EntrySums entry (about 100 bytes a file), which
// is built in memory to know its size.
const sumsPerEntry = 8192

// writeSums sends the hashes the plan left open, taken as the files went.
func (s *tarSource) writeSums(tw *tar.Writer, now time.Time) error {
	var body []byte
	var hexSum [2 * len(digest{})]byte
	for start := 0; start < len(s.streamed); start += sumsPerEntry {
		body = append(body[:0], '{')
		for i, at := range s.streamed[start:min(start+sumsPerEntry, len(s.streamed))] {
			if i > 0 {
				body = append(body, ',')
			}
			body = proto.AppendJSONString(body, s.local.files[at].Rel)
			sum := s.local.recs[at].sum
			hex.Encode(hexSum[:], sum[:])
			body = append(append(append(body, ':', '"'), hexSum[:]...), '"')
		}
		body = append(body, '}')
		hdr := &tar.Header{Name: proto.EntrySums, Mode: 0o644, Size: int64(len(body)), ModTime: now, Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(body); err != nil {
			return err
		}
	}
	return nil
}

// changed is the error for a local file that is not what the pre-flight saw.
func changed(f datafile.File) error {
	return exitcode.Errorf(exitcode.Local, "%s changed during the push (it was modified, replaced or resized since the pre-flight): push again", f.Source())
}

func (s *tarSource) writeFile(tw *tar.Writer, f datafile.File) error {
	if rc := s.plan.recipes[f.Rel]; rc != nil {
		return s.writeRecipe(tw, f, rc)
	}
	name, err := EntryName(f.Rel)
	if err != nil {
		return exitcode.Wrap(exitcode.Local, err)
	}
	var want *fileID
	// Send follows the order of the files: each is found next to the last.
	at, e, hashed := s.local.lookup(f.Rel, -1)
	if at < 0 {
		return exitcode.Errorf(exitcode.Local, "%s is not among the files listed for the push", f.Source())
	}
	if hashed {
		want = &e.id
	}
	// A file the volume holds the start of is continued from there: the
	// same file whose start was compared, hashed on from that start.
	off, pax := s.plan.resumeOf(f)
	h := sha256.New()
	if off > 0 {
		if want == nil {
			want = &s.plan.resume.id
		}
		if h, err = s.plan.resume.resumedHash(); err != nil {
			return err
		}
	}
	fh, err := s.root.open(f, want)
	if err != nil {
		return err
	}
	defer func() { _ = fh.Close() }()
	if err := fh.seek(off); err != nil {
		return exitcode.Errorf(exitcode.Local, "reading %s: %w", f.Source(), err)
	}
	// Names and sizes only: no owner, fixed mode, the local mtime to the
	// second. The writer picks the smallest format that holds the name
	// (PAX for a continued file).
	hdr := &tar.Header{Name: name, Mode: 0o644, Size: f.Size - off, ModTime: fh.mtime.Truncate(time.Second), Typeflag: tar.TypeReg, PAXRecords: pax}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if s.buf == nil {
		s.buf = make([]byte, 256<<10)
	}
	src := stopReader{r: &io.LimitedReader{R: fh, N: f.Size - off}, stop: s.stop}
	n, err := io.CopyBuffer(io.MultiWriter(tw, h, progressWriter(s.progress)), src, s.buf)
	if err != nil {
		return err
	}
	// The bytes sent are the bytes hashed; a file written to while it was
	// read would still reach the volume half old, half new.
	if n != f.Size-off || !fh.unchanged() {
		return changed(f)
	}
	var got digest
	h.Sum(got[:0])
	switch {
	case !hashed:
		// Hashed only now: the agent gets the hash after the files.
		s.local.recs[at] = localEntry{sum: got, id: fh.id, stamp: fh.stamp()}
		s.streamed = append(s.streamed, int32(at))
	case got != e.sum:
		return exitcode.Errorf(exitcode.Local, "%s changed during the push (its content differs from the pre-flight's): push again", f.Source())
	}
	return nil
}

// errStopped ends a stream that Ctrl-C stopped inside a file.
var errStopped = errors.New("interrupted inside a file: the bytes that arrived are kept for the next push")

// stopReader reads r until stop closes: a file read to its end is sent
// whole.
type stopReader struct {
	r    *io.LimitedReader
	stop <-chan struct{}
}

func (s stopReader) Read(b []byte) (int, error) {
	if s.r.N > 0 {
		select {
		case <-s.stop:
			return 0, errStopped
		default:
		}
	}
	return s.r.Read(b)
}

type progressWriter func(n int64)

func (p progressWriter) Write(b []byte) (int, error) {
	if p != nil {
		p(int64(len(b)))
	}
	return len(b), nil
}
