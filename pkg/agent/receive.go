//go:build linux

package agent

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
)

// decodePlan reads the plan object one field and one entry at a time into
// a planTable, so that its files are counted as they come and refused past
// maxPlanEntries, and each is held as one compact record.
func decodePlan(r io.Reader) (*planTable, error) {
	plan := &planTable{}
	dec := json.NewDecoder(r)
	if err := proto.ExpectDelim(dec, '{'); err != nil {
		return nil, err
	}
	var reuse []string
	expected := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		switch tok {
		case "expected":
			if err := decodeSums(dec, maxPlanEntries, func(rel, sum string) error {
				if err := proto.CheckRel(rel); err != nil {
					return fmt.Errorf("the plan names %w", err)
				}
				f := planFile{rel: rel, open: sum == ""}
				if !f.open {
					var ok bool
					if f.want, ok = wantDigest(sum); !ok {
						return fmt.Errorf("the plan has a malformed hash for %q", rel)
					}
				}
				plan.files = append(plan.files, f)
				return nil
			}); err != nil {
				return nil, err
			}
			plan.sort()
			for i := 1; i < len(plan.files); i++ {
				if plan.files[i].rel == plan.files[i-1].rel {
					return nil, fmt.Errorf("the plan names %q twice", plan.files[i].rel)
				}
			}
			expected = true
			for _, rel := range reuse {
				plan.markReuse(rel)
			}
			reuse = nil
		case "keep":
			if err := dec.Decode(&plan.keep); err != nil {
				return nil, err
			}
		case "sealed":
			if err := dec.Decode(&plan.sealed); err != nil {
				return nil, err
			}
		case "reuse":
			if err := proto.ExpectDelim(dec, '['); err != nil {
				return nil, err
			}
			for n := 0; dec.More(); n++ {
				if n >= maxPlanEntries {
					return nil, fmt.Errorf("the plan reuses more than %d files", maxPlanEntries)
				}
				var rel string
				if err := dec.Decode(&rel); err != nil {
					return nil, err
				}
				if expected {
					plan.markReuse(rel)
				} else {
					reuse = append(reuse, rel)
				}
			}
			if err := proto.ExpectDelim(dec, ']'); err != nil {
				return nil, err
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, err
			}
		}
	}
	return plan, proto.ExpectDelim(dec, '}')
}

// markReuse marks the plan's file rel to be linked from the staged copy; a
// path the plan does not list is ignored.
func (p *planTable) markReuse(rel string) {
	if i := p.findRel(rel); i >= 0 {
		p.files[i].reuse = true
	}
}

// decodeSums reads an object of path to hash, one entry at a time, into
// put, refusing more than limit entries.
func decodeSums(dec *json.Decoder, limit int, put func(rel, sum string) error) error {
	tok, err := dec.Token()
	if err != nil || tok == nil { // null: no entries
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("malformed JSON: %v where an object belongs", tok)
	}
	for n := 0; dec.More(); n++ {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		rel, _ := tok.(string)
		var sum string
		if err := dec.Decode(&sum); err != nil {
			return err
		}
		if n >= limit {
			return fmt.Errorf("more than %d files in one push: push the dataset in parts", limit)
		}
		if err := put(rel, sum); err != nil {
			return err
		}
	}
	return proto.ExpectDelim(dec, '}')
}

// openStream reads the plugin's stream as it comes: plain tar, or chunks
// compressed one by one (told apart by proto.ChunkMagic; a tar stream
// starts with the plan's name).
func (s *stager) openStream() error {
	s.stream = s.in
	magic, err := s.in.Peek(len(proto.ChunkMagic))
	if err != nil || string(magic) != proto.ChunkMagic {
		return nil
	}
	_, _ = s.in.Discard(len(magic))
	cr, err := proto.NewChunkReader(s.in)
	if err != nil {
		return failf(proto.KindStream, "reading the compressed stream: %v", err)
	}
	s.closeStream = cr.Close
	s.stream = bufio.NewReaderSize(cr, 64<<10)
	return nil
}

// received is what the stream brought: the plan, each file with the hash
// it landed with (from the stream as written, or through the link of a
// reused file) and the hashes that followed the files.
type received struct {
	plan *planTable
	// mu guards the plan's got fields: the stream and the reuse fill them
	// at once.
	mu sync.Mutex
	// kept: the staged copy is the plan and stays in place (kept says
	// what the check found); nothing was linked.
	kept *kept
}

// landed records the hash of the plan's file i as written.
func (rec *received) landed(i int, h hashed) {
	rec.mu.Lock()
	rec.plan.files[i].got = h
	rec.mu.Unlock()
}

// receive reads the stream: the plan, then each file, written fresh into
// the partial copy and hashed on the way. Files to reuse are linked from
// the staged copy and hashed while the stream goes on.
func (s *stager) receive() (*received, error) {
	if err := s.openStream(); err != nil {
		return nil, err
	}
	tr := tar.NewReader(s.stream)
	hdr, err := tr.Next()
	if err != nil {
		return nil, failf(proto.KindStream, "the stream ended before the plan: nothing was changed (%v)", err)
	}
	if hdr.Name != proto.EntryPlan || hdr.Size > maxPlan {
		return nil, failf(proto.KindStream, "the stream does not start with the plan (%q)", hdr.Name)
	}
	plan, err := decodePlan(io.LimitReader(tr, maxPlan))
	if err != nil {
		return nil, failf(proto.KindStream, "reading the plan: %v", err)
	}
	rec := &received{plan: plan}
	if plan.sealed != 0 {
		k, err := s.keepConfirmed(plan)
		if err != nil {
			return nil, err
		}
		rec.kept = &k
	} else if plan.keep != "" {
		if k, ok := s.keepStaged(plan); ok {
			rec.kept = &k
		}
	}
	var linked []int32
	for i := range plan.files {
		if plan.files[i].reuse && rec.kept == nil {
			linked = append(linked, int32(i))
		}
	}
	var wg sync.WaitGroup
	var reuseErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		reuseErr = s.reuse(rec, linked)
	}()
	err = s.receiveFiles(tr, rec)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	if reuseErr != nil {
		return nil, reuseErr
	}
	open, example := 0, ""
	for i := range rec.plan.files {
		if f := &rec.plan.files[i]; f.open {
			open++
			example = f.rel
		}
	}
	if open > 0 {
		return nil, failf(proto.KindStream, "the stream ended without the hashes of %d files (%s): the files received are kept for the next push", open, example)
	}
	return rec, nil
}

func (s *stager) receiveFiles(tr *tar.Reader, rec *received) error {
	folders := map[string]*dir{"": s.data}
	defer func() {
		for f, d := range folders {
			if f != "" {
				d.close()
			}
		}
	}()
	buf := make([]byte, 256<<10)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return failf(proto.KindStream, "the stream broke off: %v; the files received so far are kept for the next push", err)
		}
		if hdr.Name == proto.EntryInterrupted {
			return failf(proto.KindInterrupted, "interrupted: the files received so far are kept for the next push")
		}
		if hdr.Name == proto.EntrySums {
			if err := readSums(tr, hdr, rec); err != nil {
				return err
			}
			continue
		}
		rel, ok := strings.CutPrefix(hdr.Name, proto.EntryData)
		if !ok || hdr.Typeflag != tar.TypeReg {
			return failf(proto.KindStream, "the stream holds an unexpected entry %q", hdr.Name)
		}
		folder, name := split(rel)
		i := rec.plan.find(folder, name)
		if i < 0 {
			return failf(proto.KindStream, "the stream holds %q, which the plan does not list", rel)
		}
		d, ok := folders[folder]
		if !ok {
			if d, err = s.folder(folder); err != nil {
				return err
			}
			folders[folder] = d
		}
		off, err := s.resumeOffset(rel, hdr.PAXRecords)
		if err != nil {
			return err
		}
		var src io.Reader = tr
		var staged *os.File
		if _, ok := hdr.PAXRecords[proto.PAXRecipe]; ok {
			if staged = s.recipeSource(rel); staged == nil {
				if err := s.skipRecipe(d, name, rel, tr); err != nil {
					return err
				}
				continue
			}
			src = newRecipeReader(tr, staged, s.chunked[rel].size)
		}
		h, err := s.writeFile(d, name, rel, off, src, buf)
		if staged != nil {
			_ = staged.Close()
		}
		if se := (*sourceError)(nil); errors.As(err, &se) {
			if err := s.skipRecipe(d, name, rel, tr); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		rec.landed(i, h)
	}
}

// readSums takes an EntrySums entry: hashes of files the plan left open,
// each given once.
func readSums(tr io.Reader, hdr *tar.Header, rec *received) error {
	if hdr.Size > maxPlan {
		return failf(proto.KindStream, "the stream's hashes entry is too large (%d bytes)", hdr.Size)
	}
	err := decodeSums(json.NewDecoder(io.LimitReader(tr, maxPlan)), maxPlanEntries, func(rel, sum string) error {
		i := rec.plan.findRel(rel)
		if i < 0 || !rec.plan.files[i].open && !rec.plan.files[i].given {
			return failf(proto.KindStream, "the stream gives a hash for %q, which the plan does not leave open", rel)
		}
		f := &rec.plan.files[i]
		if f.given {
			return failf(proto.KindStream, "the stream gives the hash of %q twice", rel)
		}
		d, ok := wantDigest(sum)
		if !ok {
			return failf(proto.KindStream, "the stream gives a malformed hash for %q (damaged on the way?): push again", rel)
		}
		f.want, f.open, f.given = d, false, true
		return nil
	})
	var fe *failure
	if err != nil && !errors.As(err, &fe) {
		return failf(proto.KindStream, "reading the hashes of the files sent: %v", err)
	}
	return err
}

// folder opens the folder name of the partial copy, creating it. A file or
// link of an earlier push by that name gives way: the partial copy is this
// uid's alone. Only a non-folder is unlinked, so the stream and the reuse,
// which may both get here, never remove each other's folder.
func (s *stager) folder(name string) (*dir, error) {
	d, err := s.data.ensureDir(name)
	if errors.Is(err, errUnsafe) {
		if uerr := unix.Unlinkat(s.data.fd, name, 0); uerr != nil && !errors.Is(uerr, unix.ENOENT) && !errors.Is(uerr, unix.EISDIR) {
			return nil, err
		}
		d, err = s.data.ensureDir(name)
	}
	return d, err
}

// writeFile creates name in d from r, or with off > 0 appends r to the
// first off bytes of the cut file the checkpoint describes, and returns
// the file's SHA-256 (all of it) with its stat as written.
func (s *stager) writeFile(d *dir, name, rel string, off int64, r io.Reader, buf []byte) (hashed, error) {
	cp := &checkpointer{s: s, rel: rel, fd: -1, at: time.Now()}
	var err error
	if off > 0 {
		var st unix.Stat_t
		cp.fd, st, err = s.reopenCut(d, name)
		if err == nil {
			cp.h, err = s.cutHasher(cp.fd, &st)
		}
		cp.off, cp.saved = off, off
	} else {
		cp.fd, err = d.createFD(name, 0o644)
		cp.h = sha256.New()
	}
	if err != nil {
		if cp.fd >= 0 {
			_ = unix.Close(cp.fd)
		}
		return hashed{}, err
	}
	fd := cp.fd
	if err = unix.Fstat(fd, &cp.st); err == nil {
		_, err = io.CopyBuffer(io.MultiWriter(fdWriter{fd: fd, path: d.path(name)}, cp.h, cp), r, buf)
		var pe *fs.PathError
		if err != nil && !errors.As(err, &pe) {
			// The stream broke, not the volume: every byte that arrived
			// is in the file and the hash, and the next round starts
			// after the last of them.
			cp.save()
		}
	}
	var st unix.Stat_t
	if err == nil {
		err = unix.Fstat(fd, &st)
	}
	if cerr := unix.Close(fd); err == nil && cerr != nil {
		err = &fs.PathError{Op: "close", Path: d.path(name), Err: cerr}
	}
	if err != nil {
		if errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT) {
			return hashed{}, err
		}
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return hashed{}, err
		}
		return hashed{}, failf(proto.KindStream, "the stream broke off in %s: %v; the files received so far are kept for the next push", name, err)
	}
	s.doneWith(rel, cp.wrote)
	out := hashed{info: infoOf(&st)}
	cp.h.Sum(out.sum[:0])
	return out, nil
}

// reopenCut opens the cut file name in d for writing at its checkpoint:
// the same file the checkpoint was taken of (never through a link), cut
// back to the bytes the checkpoint vouches for, with what stat said of it
// before the cut. Read and write: its start may have to be read again.
func (s *stager) reopenCut(d *dir, name string) (int, unix.Stat_t, error) {
	var st unix.Stat_t
	fd, err := unix.Openat(d.fd, name, unix.O_RDWR|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, st, failf(proto.KindStream, "cannot reopen %s to continue it (%v): push again", d.path(name), err)
	}
	switch {
	case unix.Fstat(fd, &st) != nil, !isFile(&st), st.Uid != uint32(os.Geteuid()), st.Nlink != 1,
		uint64(st.Dev) != s.cut.Dev, st.Ino != s.cut.Ino:
		_ = unix.Close(fd)
		return -1, st, failf(proto.KindStream, "%s is no longer the file the partial copy's checkpoint was taken of: push again (it is then sent whole)", d.path(name))
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		_ = unix.Close(fd)
		return -1, st, err
	}
	if err := unix.Ftruncate(fd, s.cut.Offset); err != nil {
		_ = unix.Close(fd)
		return -1, st, &fs.PathError{Op: "truncate", Path: d.path(name), Err: err}
	}
	if _, err := unix.Seek(fd, s.cut.Offset, io.SeekStart); err != nil {
		_ = unix.Close(fd)
		return -1, st, &fs.PathError{Op: "seek", Path: d.path(name), Err: err}
	}
	return fd, st, nil
}

// Write counts what reached the file and its hash (io.MultiWriter calls
// it after both).
func (c *checkpointer) Write(p []byte) (int, error) {
	c.advance(len(p))
	return len(p), nil
}

// fdWriter writes to a bare descriptor, with a *fs.PathError on failure.
type fdWriter struct {
	fd   int
	path string
}

func (w fdWriter) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k, err := unix.Write(w.fd, p[n:])
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return n, &fs.PathError{Op: "write", Path: w.path, Err: err}
		}
		n += k
	}
	return n, nil
}

// reuse links the plan's reused files from the staged copy into the partial
// copy (linked: their indices in the plan) and hashes them through the new
// link.
func (s *stager) reuse(rec *received, linked []int32) error {
	if len(linked) == 0 {
		return nil
	}
	staged, err := s.staging.openDir(s.table)
	if err != nil {
		return nil // nothing to reuse: verification reports the files missing
	}
	defer staged.close()
	uid := uint32(os.Geteuid())
	n := 0
	for _, i := range linked {
		rel := rec.plan.files[i].rel
		src, name, err := parentOf(staged, rel)
		if err != nil {
			continue
		}
		st, err := src.stat(name)
		if err == nil && isFile(st) && st.Uid == uid && st.Nlink == 1 {
			folder, _ := split(rel)
			dst := s.data
			if folder != "" {
				dst, err = s.folder(folder)
			}
			if err == nil {
				if err = src.link(name, dst, name); err == nil {
					linked[n] = i
					n++
				}
				closeUnless(dst, s.data)
			}
		}
		closeUnless(src, staged)
	}
	linked = linked[:n]
	hashMany(s.data, len(linked), func(k int) string { return rec.plan.files[linked[k]].rel }, func(k int, h hashed) {
		rec.landed(int(linked[k]), h)
	}, s.workers)
	return nil
}
