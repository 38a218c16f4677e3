//go:build linux

package agent

import (
	"errors"
	"io/fs"
	"sort"
	"strconv"

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
	odd := func(rel, what string) {
		done.OddCount++
		if len(done.Odd) < proto.MaxVerifyOdd {
			done.Odd = append(done.Odd, proto.VerifyOdd{Path: rel, What: what})
		}
	}
	files, err := walk(staged, func(_ *dir, _, rel string, st *unix.Stat_t) { odd(rel, kindOf(st)) })
	if err != nil {
		return err
	}
	// A name no push stages (not UTF-8, a control character) is named as
	// odd, quoted: JSON would replace its invalid bytes, and two such files
	// would be reported under one name that a dataset may really hold.
	kept := files.files[:0]
	for i := range files.files {
		if rel := files.rel(i); proto.CheckRel(rel) != nil {
			odd(strconv.QuoteToASCII(rel), "a file whose name no push stages")
			continue
		}
		kept = append(kept, files.files[i])
	}
	files.files = kept
	// The manifest gives the hash of each file whose stat still matches
	// it; the others (all of them with deep) are read.
	if !deep {
		readManifest(staging, "."+table+proto.ManifestSuffix, files)
	}
	var toHash []int32
	for i := range files.files {
		if !files.files[i].known {
			toHash = append(toHash, int32(i))
		}
	}
	hashListed(staged, files, toHash, e.workers)
	done.Hashed = len(toHash)
	order := make([]int, len(files.files))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return files.rel(order[a]) < files.rel(order[b]) })
	batch := make([]proto.VerifyFile, 0, min(len(order), proto.MaxVerifyBatch))
	flush := func() {
		if len(batch) > 0 {
			e.send(proto.Message{T: proto.MsgVerifyFiles, Verify: &proto.Verify{Files: batch}})
			batch = batch[:0]
		}
	}
	for _, i := range order {
		f := &files.files[i]
		sum := ""
		if f.known {
			sum = f.sum.hex()
		}
		done.Count++
		done.Bytes += f.info.size
		batch = append(batch, proto.VerifyFile{Path: files.rel(i), Size: f.info.size, SHA256: sum})
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
