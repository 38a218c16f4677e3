//go:build linux

package agent

import (
	"archive/tar"
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
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

// PartialMaxAge is how long the partial copy of an interrupted push waits for
// a push of its table before any push removes it (README: "7 days").
const PartialMaxAge = 7 * 24 * time.Hour

// maxPlan bounds the plan entry (a file list with hashes).
const maxPlan = 256 << 20

// maxPlanEntries bounds the files of one push the agent keeps in memory:
// the plan's, a hashes entry's.
const maxPlanEntries = 2 << 20

// decodePlan reads the plan object one field and one entry at a time, so
// that its files are counted as they come and refused past maxPlanEntries.
func decodePlan(r io.Reader, plan *proto.Plan) error {
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case "expected":
			plan.Expected = map[string]string{}
			if err := decodeSums(dec, plan.Expected, maxPlanEntries); err != nil {
				return err
			}
		case "reuse":
			if err := expectDelim(dec, '['); err != nil {
				return err
			}
			for dec.More() {
				if len(plan.Reuse) >= maxPlanEntries {
					return fmt.Errorf("the plan reuses more than %d files", maxPlanEntries)
				}
				var rel string
				if err := dec.Decode(&rel); err != nil {
					return err
				}
				plan.Reuse = append(plan.Reuse, rel)
			}
			if err := expectDelim(dec, ']'); err != nil {
				return err
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return err
			}
		}
	}
	return expectDelim(dec, '}')
}

// decodeSums reads an object of path to hash into into, refusing more than
// limit entries.
func decodeSums(dec *json.Decoder, into map[string]string, limit int) error {
	tok, err := dec.Token()
	if err != nil || tok == nil { // null: no entries
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("malformed JSON: %v where an object belongs", tok)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		rel, _ := tok.(string)
		var sum string
		if err := dec.Decode(&sum); err != nil {
			return err
		}
		if _, dup := into[rel]; !dup && len(into) >= limit {
			return fmt.Errorf("more than %d files in one push: push the dataset in parts", limit)
		}
		into[rel] = sum
	}
	return expectDelim(dec, '}')
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("malformed JSON: %v where %q belongs", tok, want)
	}
	return nil
}

// stager is one stage round for one table.
type stager struct {
	*env
	table, nonce string

	shared  *dir // the volume's mount point
	staging *dir // .tracebloc-staging
	partial *dir // .partial-<table>
	data    *dir // .partial-<table>/data

	// resumed holds the files of the partial copy hashed by the inventory.
	resumed map[string]hashed
	// stream is what the plugin sends after the inventory, decompressed.
	stream      *bufio.Reader
	closeStream func()
	// verified are the hashes of the new copy, for its manifest, and
	// verifiedInfo what stat said of each file as it was verified.
	verified     map[string]string
	verifiedInfo map[string]fileInfo
	// relinked: files of the new copy are links to the staged one, whose
	// removal after the swap changes their stat.
	relinked bool
}

func (s *stager) partialName() string { return proto.PartialPrefix + s.table }

func (s *stager) manifestName() string { return "." + s.table + proto.ManifestSuffix }

func (s *stager) close() {
	if s.closeStream != nil {
		s.closeStream()
	}
	for _, d := range []*dir{s.data, s.partial, s.staging, s.shared} {
		d.close()
	}
}

func (s *stager) run(resend bool) error {
	defer s.close()
	if err := s.open(); err != nil {
		return err
	}
	s.recoverSwap()
	s.sweep(time.Now())
	if err := s.claim(); err != nil {
		return err
	}
	inv := proto.Message{T: proto.MsgInventory}
	if !resend {
		var err error
		if inv, err = s.inventory(); err != nil {
			return err
		}
		inv.Space = volumeSpace(s.shared)
	}
	s.send(inv)
	rec, err := s.receive()
	if err != nil {
		if errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT) {
			// A full volume: what arrived cannot help the next push as much
			// as the space it takes; the staged copy stays as it was.
			s.dropPartial()
		} else {
			s.dropIfEmpty()
		}
		return err
	}
	files, bytes, err := s.verify(rec)
	if err != nil {
		return err
	}
	s.send(proto.Message{T: proto.MsgVerified, Files: files, Bytes: bytes})
	// One short line: whatever else follows is not read into memory.
	line, err := readLine(s.stream, len(proto.Commit)+8)
	if strings.TrimSpace(line) != proto.Commit {
		return failf(proto.KindAborted, "the push did not confirm the swap (%s): the verified files are kept for the next push of %s", abortReason(err), s.table)
	}
	if err := s.checkClaim(); err != nil {
		return err
	}
	if !s.stagingInPlace() {
		return s.stagingReplaced("before the swap: nothing was changed at that path")
	}
	if err := s.swap(); err != nil {
		return err
	}
	s.send(proto.Message{T: proto.MsgSwapped, Files: files, Bytes: bytes})
	return nil
}

// beforeProof runs as the swap's check begins (tests time a racing planter
// against it).
var beforeProof = func() {}

// dropPartial removes the partial copy this push was building.
func (s *stager) dropPartial() {
	s.data.close()
	s.data = nil
	_ = s.partial.removeAll(s.dataName())
	s.partial.close()
	s.partial = nil
	_ = unix.Unlinkat(s.staging.fd, s.partialName(), unix.AT_REMOVEDIR)
}

// dropIfEmpty removes this push's data folder, and the partial folder,
// when nothing is in them (a push that stopped before sending a file, e.g.
// because the table is already ingested): no empty leftovers.
func (s *stager) dropIfEmpty() {
	if names, err := s.data.names(); err != nil || len(names) > 0 {
		return
	}
	s.data.close()
	s.data = nil
	_ = unix.Unlinkat(s.partial.fd, s.dataName(), unix.AT_REMOVEDIR)
	s.partial.close()
	s.partial = nil
	_ = unix.Unlinkat(s.staging.fd, s.partialName(), unix.AT_REMOVEDIR)
}

func abortReason(err error) string {
	if err == nil {
		return "an unexpected reply"
	}
	return "the stream ended"
}

// open opens the volume and the staging folder, creating the latter.
func (s *stager) open() error {
	var err error
	if s.shared, err = openRoot(s.root); err != nil {
		return failf(proto.KindNoAccess, "the shared volume is not mounted at %s: %v", s.root, err)
	}
	s.staging, err = s.shared.ensureDir(proto.StagingDir)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) || errors.Is(err, unix.EROFS) {
			return s.notWritable(err)
		}
		return err
	}
	return s.ownStaging()
}

// ownStaging makes sure the staging folder is this uid's and that no other
// uid can rename or plant entries in it. The ingestor runs as another uid
// and only reads the staged copies, so the folder is 0755 (keeping the
// setgid bit a 2777 volume passes on): without group or other write, only
// this uid can swap a table in it.
func (s *stager) ownStaging() error {
	var st unix.Stat_t
	if err := unix.Fstat(s.staging.fd, &st); err != nil {
		return &fs.PathError{Op: "stat", Path: s.staging.name, Err: err}
	}
	if st.Uid != uint32(os.Geteuid()) {
		return failf(proto.KindUnsafe, "the staging folder %s is owned by uid %d, not by the stage Pod's uid %d: its owner could change a staged copy after the push checked it; ask a cluster admin to remove it or chown it to uid %d, then push again",
			s.staging.name, st.Uid, os.Geteuid(), os.Geteuid())
	}
	if st.Mode&0o022 != 0 {
		if err := unix.Fchmod(s.staging.fd, st.Mode&0o7777&^0o022); err != nil {
			return &fs.PathError{Op: "chmod", Path: s.staging.name, Err: err}
		}
	}
	return nil
}

// stagingInPlace reports whether the staging folder the push opened at the
// start is still the one at <volume>/.tracebloc-staging. The volume root
// is writable by every uid and has no sticky bit, so another uid can
// rename the folder away and plant its own under the name; the ingestor
// reads by path.
func (s *stager) stagingInPlace() bool {
	return sameEntry(s.shared, proto.StagingDir, s.staging.fd)
}

// sameEntry reports whether name in d (not followed) is the file open as fd.
func sameEntry(d *dir, name string, fd int) bool {
	st, err := d.stat(name)
	var own unix.Stat_t
	if err != nil || unix.Fstat(fd, &own) != nil {
		return false
	}
	return st.Dev == own.Dev && st.Ino == own.Ino
}

// stagingReplaced is the failure of a push whose staging folder was
// renamed away while it ran.
func (s *stager) stagingReplaced(when string) error {
	return failf(proto.KindSwap, "the staging folder %s/%s was replaced by another folder while the push ran (renamed away, %s): the copy of %s there is not this push's; find the workload that renames folders on the shared volume, remove the foreign %s and push again",
		s.root, proto.StagingDir, when, s.table, proto.StagingDir)
}

// notWritable explains a volume the stage Pod cannot write to.
func (s *stager) notWritable(cause error) error {
	var st unix.Stat_t
	owner := ""
	if unix.Fstat(s.shared.fd, &st) == nil {
		owner = fmt.Sprintf(" (owner uid %d, gid %d, mode %04o)", st.Uid, st.Gid, st.Mode&0o7777)
	}
	return failf(proto.KindNoAccess, "the shared volume %s%s is not writable by uid %d, gid %d (%v): make it writable for the stage Pod, as the client chart does (chmod 2777 %s)",
		s.root, owner, os.Geteuid(), os.Getegid(), errors.Unwrap(cause), s.root)
}

// recoverSwap finishes a swap that was cut short between its two renames:
// with no staged copy, the copy set aside is put back; beside a staged copy
// it is removed.
func (s *stager) recoverSwap() {
	restoreOld(s.staging, s.table)
}

// restoreOld puts a set-aside copy of table back when the staged copy is
// missing, and removes set-aside copies otherwise.
func restoreOld(staging *dir, table string) {
	names, err := staging.names()
	if err != nil {
		return
	}
	prefix := proto.OldPrefix + table + "-"
	for _, n := range names {
		if !strings.HasPrefix(n, prefix) || !proto.ValidTable(table) {
			continue
		}
		st, err := staging.stat(n)
		if err != nil || !isDir(st) || st.Uid != uint32(os.Geteuid()) {
			continue
		}
		if _, err := staging.stat(table); errors.Is(err, fs.ErrNotExist) {
			if staging.rename(n, staging, table) == nil {
				continue
			}
		}
		_ = staging.removeAll(n)
	}
}

// sweep removes partial copies of other tables that nobody came back for.
func (s *stager) sweep(now time.Time) {
	names, err := s.staging.names()
	if err != nil {
		return
	}
	for _, n := range names {
		t, ok := strings.CutPrefix(n, proto.PartialPrefix)
		if !ok || t == s.table || !proto.ValidTable(t) {
			continue
		}
		st, err := s.staging.stat(n)
		if err != nil || !isDir(st) || st.Uid != uint32(os.Geteuid()) {
			continue
		}
		if now.Sub(time.Unix(0, st.Mtim.Nano())) > PartialMaxAge {
			_ = s.staging.removeAll(n)
		}
	}
}

// claim makes the partial folder this push's. It must be a real folder
// owned by this uid. Each push builds its copy in a data folder of its own
// (data-<hash of its nonce>); what earlier pushes left there is taken over
// by first renaming their folder away, which is the fence: a push whose
// folder was renamed can no longer swap it in, since the swap renames it by
// name. Their whole files are then moved into this push's folder, to resume.
func (s *stager) claim() error {
	var err error
	if s.partial, err = s.staging.ensureDir(s.partialName()); err != nil {
		if errors.Is(err, errUnsafe) {
			// A link or a file planted where the partial folder goes:
			// drop the name (never its target) and start afresh.
			if rerr := s.staging.removeEntry(s.partialName()); rerr != nil {
				return rerr
			}
			s.partial, err = s.staging.ensureDir(s.partialName())
		}
		if err != nil {
			return err
		}
	}
	if err := s.owned(s.partial); err != nil {
		return err
	}
	_ = s.partial.touch()
	s.data, err = s.partial.ensureDir(s.dataName())
	if errors.Is(err, errUnsafe) {
		if rerr := s.partial.removeEntry(s.dataName()); rerr != nil {
			return rerr
		}
		s.data, err = s.partial.ensureDir(s.dataName())
	}
	if err != nil {
		return err
	}
	if err := s.owned(s.data); err != nil {
		return err
	}
	return s.takeOver()
}

// dataName is this push's data folder inside the partial folder.
func (s *stager) dataName() string {
	h := sha256.Sum256([]byte(s.nonce))
	return proto.PartialData + "-" + hex.EncodeToString(h[:8])
}

// takeOver fences off every other data folder of the partial copy and moves
// its whole files (this uid's, not linked elsewhere) into this push's.
func (s *stager) takeOver() error {
	names, err := s.partial.names()
	if err != nil {
		return err
	}
	uid := uint32(os.Geteuid())
	for _, n := range names {
		if n == s.dataName() {
			continue
		}
		st, err := s.partial.stat(n)
		if err != nil {
			continue
		}
		if !isDir(st) || st.Uid != uid {
			// Links, files and folders of others: their names go.
			if err := s.partial.removeEntry(n); err != nil && !isDir(st) {
				return err
			}
			continue
		}
		gone := n
		if !strings.HasPrefix(n, goneMark) {
			gone = goneMark + randomSuffix()
			if err := s.partial.rename(n, s.partial, gone); err != nil {
				continue // renamed away by someone else meanwhile
			}
		}
		if old, err := s.partial.openDir(gone); err == nil {
			s.moveFiles(old)
			old.close()
		}
		_ = s.partial.removeAll(gone)
	}
	return nil
}

// goneMark names a data folder taken over from another push, on its way out.
const goneMark = ".gone-"

// moveFiles moves the whole files of an earlier push's data folder into
// this push's. A name this push already holds is left where it was.
func (s *stager) moveFiles(old *dir) {
	uid := uint32(os.Geteuid())
	files, err := walk(old, nil)
	if err != nil {
		return
	}
	for rel, fi := range files {
		if fi.uid != uid || fi.nlink != 1 || proto.CheckRel(rel) != nil {
			continue
		}
		src, name, err := parentOf(old, rel)
		if err != nil {
			continue
		}
		folder, _ := split(rel)
		dst := s.data
		if folder != "" {
			dst, err = s.folder(folder)
		}
		if err == nil {
			_ = src.rename(name, dst, name)
			closeUnless(dst, s.data)
		}
		closeUnless(src, old)
	}
}

// owned refuses a folder that another uid owns: its owner could change it
// under the push.
func (s *stager) owned(d *dir) error {
	var st unix.Stat_t
	if err := unix.Fstat(d.fd, &st); err != nil {
		return err
	}
	if st.Uid != uint32(os.Geteuid()) {
		return &unsafeError{path: d.name, what: fmt.Sprintf("owned by uid %d, not by the stage Pod's uid %d", st.Uid, os.Geteuid())}
	}
	return nil
}

// checkClaim refuses to swap when another push has taken the partial copy
// over since this one claimed it: this push's data folder is no longer
// there under its name. (The swap's rename by name is the fence; this check
// gives the refusal its message before anything is tried.)
func (s *stager) checkClaim() error {
	st, err := s.partial.stat(s.dataName())
	var own unix.Stat_t
	if err != nil || unix.Fstat(s.data.fd, &own) != nil || st.Ino != own.Ino || st.Dev != own.Dev {
		return s.claimed()
	}
	return nil
}

func (s *stager) claimed() error {
	return failf(proto.KindClaimed, "another push of %s took over its partial copy: this push stops before the swap; the staged copy is whatever the other push left", s.table)
}

// writeSmall replaces the file name in d with data: written under a fresh
// random name, then renamed over it.
func writeSmall(d *dir, name string, data []byte) error {
	tmp := "." + name + ".tmp-" + randomSuffix()
	f, err := d.create(tmp, 0o644)
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = d.replaceFile(tmp, name)
	}
	if werr != nil {
		_ = d.removeEntry(tmp)
	}
	return werr
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

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
	var toHash []string
	for rel, fi := range files {
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

// received is what the stream brought.
type received struct {
	plan proto.Plan
	// later are the hashes the plan left open, sent after the files.
	later map[string]string
	// sums of the files written from the stream, hashed as they landed.
	sums map[string]hashed
	// reused are files linked from the staged copy, hashed through the link.
	reused map[string]hashed
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
	rec := &received{sums: map[string]hashed{}, later: map[string]string{}}
	if err := decodePlan(io.LimitReader(tr, maxPlan), &rec.plan); err != nil {
		return nil, failf(proto.KindStream, "reading the plan: %v", err)
	}
	for rel, sum := range rec.plan.Expected {
		if err := proto.CheckRel(rel); err != nil {
			return nil, failf(proto.KindStream, "the plan names %v", err)
		}
		if len(sum) != 64 && sum != "" {
			return nil, failf(proto.KindStream, "the plan has a malformed hash for %q", rel)
		}
	}
	var wg sync.WaitGroup
	var reuseErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		rec.reused, reuseErr = s.reuse(rec.plan)
	}()
	err = s.receiveFiles(tr, rec)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	if reuseErr != nil {
		return nil, reuseErr
	}
	// The reuse is done with the plan: the open hashes can go in.
	for rel, sum := range rec.later {
		rec.plan.Expected[rel] = sum
	}
	open, example := 0, ""
	for rel, sum := range rec.plan.Expected {
		if sum == "" {
			open++
			example = rel
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
		if _, want := rec.plan.Expected[rel]; !want {
			return failf(proto.KindStream, "the stream holds %q, which the plan does not list", rel)
		}
		folder, name := split(rel)
		d, ok := folders[folder]
		if !ok {
			if d, err = s.folder(folder); err != nil {
				return err
			}
			folders[folder] = d
		}
		h, err := writeFile(d, name, tr, buf)
		if err != nil {
			return err
		}
		rec.sums[rel] = h
	}
}

// readSums takes an EntrySums entry: hashes of files the plan left open,
// each given once.
func readSums(tr io.Reader, hdr *tar.Header, rec *received) error {
	if hdr.Size > maxPlan {
		return failf(proto.KindStream, "the stream's hashes entry is too large (%d bytes)", hdr.Size)
	}
	sums := map[string]string{}
	if err := decodeSums(json.NewDecoder(io.LimitReader(tr, maxPlan)), sums, maxPlanEntries); err != nil {
		return failf(proto.KindStream, "reading the hashes of the files sent: %v", err)
	}
	for rel, sum := range sums {
		if want, ok := rec.plan.Expected[rel]; !ok || want != "" {
			return failf(proto.KindStream, "the stream gives a hash for %q, which the plan does not leave open", rel)
		}
		if len(sum) != 64 {
			return failf(proto.KindStream, "the stream gives a malformed hash for %q (damaged on the way?): push again", rel)
		}
		if _, dup := rec.later[rel]; dup {
			return failf(proto.KindStream, "the stream gives the hash of %q twice", rel)
		}
		rec.later[rel] = sum
	}
	return nil
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

// writeFile creates name in d from r and returns its SHA-256 with the stat
// of the file as written.
func writeFile(d *dir, name string, r io.Reader, buf []byte) (hashed, error) {
	fd, err := d.createFD(name, 0o644)
	if err != nil {
		return hashed{}, err
	}
	h := sha256.New()
	_, err = io.CopyBuffer(io.MultiWriter(fdWriter{fd: fd, path: d.path(name)}, h), r, buf)
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
	return hashed{sum: hex.EncodeToString(h.Sum(nil)), info: infoOf(&st)}, nil
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
// copy and hashes them through the new link.
func (s *stager) reuse(plan proto.Plan) (map[string]hashed, error) {
	out := map[string]hashed{}
	if len(plan.Reuse) == 0 {
		return out, nil
	}
	staged, err := s.staging.openDir(s.table)
	if err != nil {
		return out, nil // nothing to reuse: verification reports the files missing
	}
	defer staged.close()
	uid := uint32(os.Geteuid())
	var linked []string
	for _, rel := range plan.Reuse {
		if _, ok := plan.Expected[rel]; !ok || proto.CheckRel(rel) != nil {
			continue
		}
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
					linked = append(linked, rel)
				}
				closeUnless(dst, s.data)
			}
		}
		closeUnless(src, staged)
	}
	return hashMany(s.data, linked, s.workers), nil
}

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

// dropFolders removes the folders of the partial copy that no file of the
// plan sits in: an earlier push's folder would otherwise reach the staged
// copy empty, as a class nobody pushed.
func (s *stager) dropFolders(plan proto.Plan) error {
	keep := map[string]bool{}
	for rel := range plan.Expected {
		if folder, _ := split(rel); folder != "" {
			keep[folder] = true
		}
	}
	names, err := s.data.names()
	if err != nil {
		return err
	}
	for _, n := range names {
		if keep[n] {
			continue
		}
		if st, err := s.data.stat(n); err == nil && isDir(st) {
			if err := s.data.removeAll(n); err != nil {
				return err
			}
		}
	}
	return nil
}

// swap puts the verified copy in place of the staged one. Where the
// filesystem can, both are exchanged in one step; otherwise the staged copy
// is set aside first and put back if the second rename fails. The manifest
// of the new copy is written beside it.
func (s *stager) swap() error {
	dn := s.dataName()
	// The new copy's identity, to find it at the table's path afterwards.
	var newCopy unix.Stat_t
	if err := unix.Fstat(s.data.fd, &newCopy); err != nil {
		return &fs.PathError{Op: "stat", Path: s.data.name, Err: err}
	}
	_, err := s.staging.stat(s.table)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := s.partial.rename(dn, s.staging, s.table); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return s.claimed()
			}
			return failf(proto.KindSwap, "cannot move the new copy in place: %v; nothing was changed", err)
		}
	case err != nil:
		return err
	default:
		err := unix.Renameat2(s.partial.fd, dn, s.staging.fd, s.table, unix.RENAME_EXCHANGE)
		switch {
		case errors.Is(err, unix.ENOENT):
			return s.claimed()
		case err != nil:
			if err := s.swapByTwoRenames(); err != nil {
				return err
			}
		}
	}
	beforeProof()
	// The swap is done only where the ingestor reads: the staging folder
	// still at its path and the new copy at the table's name in it.
	if !s.stagingInPlace() {
		return s.stagingReplaced("during the swap: the new copy went into the folder this push had opened, which is no longer at that path")
	}
	if st, err := s.staging.stat(s.table); err != nil || st.Dev != newCopy.Dev || st.Ino != newCopy.Ino {
		return failf(proto.KindSwap, "%s/%s/%s is not the copy this push swapped in (another push or workload replaced it right after the swap): push again", s.root, proto.StagingDir, s.table)
	}
	// What the exchange left under this push's name is the previous copy:
	// removed first, so the links it shared with the new copy are gone
	// before the manifest records each file's link count and times. Other
	// pushes' entries in the partial folder are theirs to remove.
	s.data.close()
	s.data = nil
	if err := s.partial.removeAll(dn); err != nil {
		fmt.Fprintf(s.stderr, "removing the previous copy: %v\n", err)
	}
	s.partial.close()
	s.partial = nil
	_ = unix.Unlinkat(s.staging.fd, s.partialName(), unix.AT_REMOVEDIR)
	if t, err := s.staging.openDir(s.table); err == nil {
		_ = t.touch()
		s.writeManifest(t)
		t.close()
	}
	return nil
}

func (s *stager) swapByTwoRenames() error {
	if err := s.checkClaim(); err != nil {
		return err
	}
	old := proto.OldPrefix + s.table + "-" + randomSuffix()
	if err := s.staging.rename(s.table, s.staging, old); err != nil {
		return failf(proto.KindSwap, "cannot move the previous copy aside: %v; nothing was changed", err)
	}
	if err := s.partial.rename(s.dataName(), s.staging, s.table); err != nil {
		if rerr := s.staging.rename(old, s.staging, s.table); rerr != nil {
			return failf(proto.KindSwap, "cannot swap the new copy in (%v) nor put the previous one back (%v): the next push or kubectl tracebloc cleanup restores it", err, rerr)
		}
		if errors.Is(err, fs.ErrNotExist) {
			return s.claimed()
		}
		return failf(proto.KindSwap, "cannot swap the new copy in: %v; the previous copy is back in place", err)
	}
	_ = s.staging.removeAll(old)
	return nil
}

// manifestEntry records one file of the staged copy as the swap left it.
type manifestEntry struct {
	Sum   string
	Size  int64
	Mtime int64
	Ctime int64
	Ino   uint64
}

// manifestHeader opens the manifest: one line per file follows,
// "<sha256> <size> <mtime> <ctime> <inode> <path>". Lines, not one JSON
// object, so that reading a manifest planted on the volume takes memory
// for one line at a time and for no more entries than the staged copy
// has files.
const manifestHeader = "tracebloc-manifest 2"

// maxManifestLine bounds a line of the manifest: a hash, four numbers and
// a path of at most 1024 bytes.
const maxManifestLine = 2048

// writeManifest records the hash of each file of the new copy with what
// stat says of it now. It is only a hint: a later push trusts an entry only
// while size, times and inode still match, and verifies the new copy in full.
//
// The stat taken as the copy was verified still holds after the swap (a
// rename of the folder changes no file), unless files were links to the
// previous copy: removing it changed their link count and ctime, so the
// new copy is walked again.
func (s *stager) writeManifest(t *dir) {
	files := s.verifiedInfo
	if s.relinked || files == nil {
		var err error
		if files, err = walk(t, nil); err != nil {
			return
		}
	}
	var b strings.Builder
	b.WriteString(manifestHeader + "\n")
	for rel, fi := range files {
		if sum, ok := s.verified[rel]; ok {
			fmt.Fprintf(&b, "%s %d %d %d %d %s\n", sum, fi.size, fi.mtime, fi.ctime, fi.ino, rel)
		}
	}
	if writeSmall(s.staging, s.manifestName(), []byte(b.String())) != nil {
		_ = s.staging.removeEntry(s.manifestName())
	}
}

// readManifest loads the manifest's entries for the files of the staged
// copy (want). Anything unreadable, or more entries than the copy has
// files, counts as no manifest: the files are hashed instead.
func readManifest(staging *dir, name string, want map[string]fileInfo) map[string]manifestEntry {
	man := map[string]manifestEntry{}
	f, _, err := staging.openFile(name)
	if err != nil {
		return man
	}
	defer f.Close()
	r := bufio.NewReaderSize(io.LimitReader(f, maxPlan), 4<<10)
	if line, err := readLine(r, maxManifestLine); err != nil || line != manifestHeader {
		return man
	}
	for n := 0; ; n++ {
		line, err := readLine(r, maxManifestLine)
		if errors.Is(err, io.EOF) && line == "" {
			return man
		}
		if err != nil || n >= len(want) {
			return map[string]manifestEntry{}
		}
		var e manifestEntry
		var rel string
		fields := strings.SplitN(line, " ", 6)
		if len(fields) != 6 || len(fields[0]) != 64 {
			return map[string]manifestEntry{}
		}
		e.Sum, rel = fields[0], fields[5]
		if _, err := fmt.Sscan(strings.Join(fields[1:5], " "), &e.Size, &e.Mtime, &e.Ctime, &e.Ino); err != nil {
			return map[string]manifestEntry{}
		}
		if _, ok := want[rel]; ok {
			man[rel] = e
		}
	}
}

// errLongLine is a line longer than its reader allows.
var errLongLine = errors.New("line too long")

// readLine reads one line of at most max bytes (without its newline) in
// memory for max bytes, whatever the input holds. A last line without a
// newline is returned with io.EOF.
func readLine(r *bufio.Reader, max int) (string, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) > max+1 {
			return "", errLongLine
		}
		line = append(line, chunk...)
		switch {
		case err == nil:
			return string(line[:len(line)-1]), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return string(line), err
		}
	}
}
