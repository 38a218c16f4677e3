//go:build linux

package agent

import (
	"errors"
	"io/fs"
	"sort"

	"golang.org/x/sys/unix"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
)

// verifyCopy reports the staged copy of table, file by file, for the
// plugin to compare with the local dataset. It changes nothing on the
// volume: folders are opened without following a link, only regular files
// are read (O_NOFOLLOW, type-checked after the open, so a FIFO cannot hang
// it), and anything else is named, never opened. Each output line holds at
// most proto.MaxVerifyBatch files.
func verifyCopy(e *env, table string, deep bool) error {
	if !proto.ValidTable(table) {
		return failf(proto.KindUsage, "unsafe table name %q", table)
	}
	shared, err := openRoot(e.root)
	if err != nil {
		return failf(proto.KindNoAccess, "the shared volume is not mounted at %s: %v", e.root, err)
	}
	defer shared.close()
	done := &proto.Verify{}
	staging, staged, err := openCopy(shared, table)
	if err != nil {
		return err
	}
	if staged == nil {
		e.send(proto.Message{T: proto.MsgVerifyDone, Verify: done})
		return nil
	}
	defer staging.close()
	defer staged.close()
	done.Staged = true
	files, err := walk(staged, func(_ *dir, _, rel string, st *unix.Stat_t) {
		done.OddCount++
		if len(done.Odd) < proto.MaxVerifyOdd {
			done.Odd = append(done.Odd, proto.VerifyOdd{Path: rel, What: kindOf(st)})
		}
	})
	if err != nil {
		return err
	}
	sums := map[string]string{}
	var toHash []string
	man := map[string]manifestEntry{}
	if !deep {
		man = readManifest(staging, "."+table+proto.ManifestSuffix, files)
	}
	for rel, fi := range files {
		if m, ok := man[rel]; ok && m.Size == fi.size && m.Mtime == fi.mtime && m.Ino == fi.ino && m.Ctime == fi.ctime {
			sums[rel] = m.Sum
			continue
		}
		toHash = append(toHash, rel)
	}
	for rel, h := range hashMany(staged, toHash, e.workers) {
		sums[rel] = h.sum
	}
	done.Hashed = len(toHash)
	rels := make([]string, 0, len(files))
	for rel := range files {
		rels = append(rels, rel)
	}
	sort.Strings(rels)
	batch := make([]proto.VerifyFile, 0, min(len(rels), proto.MaxVerifyBatch))
	flush := func() {
		if len(batch) > 0 {
			e.send(proto.Message{T: proto.MsgVerifyFiles, Verify: &proto.Verify{Files: batch}})
			batch = batch[:0]
		}
	}
	for _, rel := range rels {
		done.Count++
		done.Bytes += files[rel].size
		batch = append(batch, proto.VerifyFile{Path: rel, Size: files[rel].size, SHA256: sums[rel]})
		if len(batch) == proto.MaxVerifyBatch {
			flush()
		}
	}
	flush()
	e.send(proto.Message{T: proto.MsgVerifyDone, Verify: done})
	return nil
}

// openCopy opens the staging folder and table's staged copy in it, never
// through a link; both are nil when there is no copy.
func openCopy(shared *dir, table string) (staging, staged *dir, err error) {
	staging, err = shared.openDir(proto.StagingDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	staged, err = staging.openDir(table)
	if err != nil {
		staging.close()
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, nil
		}
		return nil, nil, err
	}
	return staging, staged, nil
}
