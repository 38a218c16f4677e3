package transfer

import (
	"strings"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

func roomFiles() []dataset.File {
	return []dataset.File{
		{Rel: "labels.csv", Size: 10},
		{Rel: "texts/a.txt", Size: 4096},
		{Rel: "texts/b.txt", Size: 4097},
		{Rel: "texts/c.txt", Size: 0},
	}
}

func TestRoomNeeded(t *testing.T) {
	files := roomFiles()
	local := NewLocal()
	// Everything sent: each file in whole blocks and an inode, two folders.
	all := MakePlan(files, local, Inventory{})
	r := roomNeeded(all, 4096)
	if r.Inodes != 4+2 {
		t.Errorf("inodes %d, want 4 files and 2 folders", r.Inodes)
	}
	// 1 + 1 + 2 + 0 blocks of data, one block of names, two index blocks a folder.
	if want := int64(4+1+4) * 4096; r.Bytes != want {
		t.Errorf("bytes %d, want %d", r.Bytes, want)
	}
	// b.txt reused from the staged copy (a link: a name, no data, no inode),
	// c.txt resumed from the partial copy (nothing more).
	local.files["texts/b.txt"] = localEntry{sum: digest{1}}
	local.files["texts/c.txt"] = localEntry{sum: digest{2}}
	some := MakePlan(files, local, Inventory{Staged: Sums{"texts/b.txt": digest{1}.hex()}, Partial: Sums{"texts/c.txt": digest{2}.hex()}})
	r = roomNeeded(some, 4096)
	if r.Inodes != 2+2 || r.Bytes != int64(2+1+4)*4096 {
		t.Errorf("with a link and a resumed file: %+v, want 4 inodes and %d bytes", r, (2+1+4)*4096)
	}
}

func TestCheckRoomRefusesBeforeSending(t *testing.T) {
	plan := MakePlan(roomFiles(), NewLocal(), Inventory{})
	need := roomNeeded(plan, 4096)
	tests := []struct {
		name  string
		space *proto.Space
		ok    bool
		say   []string
	}{
		{"unknown", nil, true, nil},
		{"room to spare", &proto.Space{FreeBytes: 1 << 30, FreeInodes: 1000, BlockSize: 4096}, true, nil},
		{"exactly enough", &proto.Space{FreeBytes: need.Bytes, FreeInodes: need.Inodes, BlockSize: 4096}, true, nil},
		{"a byte short", &proto.Space{FreeBytes: need.Bytes - 1, FreeInodes: 1000, BlockSize: 4096}, false,
			[]string{"room for 36.0 KiB and 1000 files", "needs 36.0 KiB and 6 files", "4 files to send", "nothing was sent", "grow it"}},
		{"an inode short", &proto.Space{FreeBytes: 1 << 30, FreeInodes: need.Inodes - 1, BlockSize: 4096}, false, []string{"and 5 files;"}},
		{"inodes not counted", &proto.Space{FreeBytes: 1 << 30, FreeInodes: -1, BlockSize: 4096}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkRoom(plan, proto.Message{Space: tt.space}, "cats")
			if tt.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if exitcode.Of(err) != exitcode.Staging {
				t.Fatalf("exit %d (%v), want %d", exitcode.Of(err), err, exitcode.Staging)
			}
			for _, s := range tt.say {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%q does not say %q", err, s)
				}
			}
		})
	}
}
