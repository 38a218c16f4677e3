package transfer

import (
	"fmt"
	"strings"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/output"
)

// Room is what a plan takes on the volume beyond what the volume holds.
type Room struct {
	Bytes  int64 `json:"bytes"`
	Inodes int64 `json:"inodes"`
}

// maxAllocBlock is the largest block size taken as the unit a file's room
// is counted in (ZFS records go up to 128 KiB).
const maxAllocBlock = 128 << 10

// roomNeeded is what the plan takes on a volume of the given block size.
//
// The new copy is built beside the staged one, which stays whole until the
// swap; the swap itself renames folders and takes no room. So the staged
// copy's room is never free while the push runs, and the new copy needs:
// each file it receives, rounded up to whole blocks, and an inode; each of
// its folders, an inode and a block; and a name in its folder for every
// file it does not hold yet, sent or linked (a link to the staged copy
// takes no data and no inode, only that name). The files an interrupted
// push left with the right content take nothing more. Files of the
// partial copy that the plan drops are only removed after the stream, so
// their room is not counted as free.
func roomNeeded(p Plan, block int64) Room {
	if block <= 0 || block > maxAllocBlock {
		// Network filesystems report their transfer size as the block:
		// CephFS 4 MiB, NFS its wsize (often 1 MiB). Their servers allocate
		// far less per file; rounding each file up to that much would
		// refuse a dataset of small files that fits many times over.
		block = 4096
	}
	var r Room
	for _, f := range p.Send {
		r.Bytes += (f.Size + block - 1) / block * block
		r.Inodes++
	}
	folders := map[string]struct{}{}
	var names int64
	have := len(p.files) - p.Resumed
	for i, f := range p.files {
		folder, name := "", f.Rel
		if j := strings.LastIndexByte(f.Rel, '/'); j >= 0 {
			folder, name = f.Rel[:j], f.Rel[j+1:]
		}
		folders[folder] = struct{}{}
		if i < have {
			// An ext4 directory entry: 8 bytes and the name, in 4-byte steps;
			// which files are resumed does not matter, only how many.
			names += (8 + int64(len(name)) + 3) &^ 3
		}
	}
	r.Inodes += int64(len(folders))
	// Each folder's entries fill blocks of their own; an index block more.
	r.Bytes += (names+block-1)/block*block + 2*int64(len(folders))*block
	return r
}

// checkRoom refuses a plan the volume has no room for, before anything is
// sent: the partial copy would fill the volume and fail halfway.
func checkRoom(p Plan, inv proto.Message, table string) error {
	sp := inv.Space
	if sp == nil {
		return nil
	}
	need := roomNeeded(p, sp.BlockSize)
	short := need.Bytes > sp.FreeBytes
	if sp.FreeInodes >= 0 && need.Inodes > sp.FreeInodes {
		short = true
	}
	if !short {
		return nil
	}
	free := output.HumanBytes(sp.FreeBytes)
	needed := output.HumanBytes(need.Bytes)
	if sp.FreeInodes >= 0 {
		free += fmt.Sprintf(" and %d files", sp.FreeInodes)
		needed += fmt.Sprintf(" and %d files", need.Inodes)
	}
	stale := ""
	if n := p.partialFiles - p.Resumed; n > 0 {
		stale = fmt.Sprintf("; %d files an earlier push of %s left unfinished take room too", n, table)
	}
	return exitcode.Errorf(exitcode.Staging,
		"the shared volume has room for %s; staging %s needs %s (%d files to send, %s, beside the staged copy, which stays until the new one is verified)%s: nothing was sent. "+
			"Free room on the volume (kubectl tracebloc cleanup removes what interrupted pushes left) or grow it, then push again; or push a smaller dataset",
		free, table, needed, len(p.Send), output.HumanBytes(p.SendBytes), stale)
}
