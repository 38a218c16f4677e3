package transfer

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/podexec"
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
	local := NewLocal(files)
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
	local.put("texts/b.txt", localEntry{sum: digest{1}})
	local.put("texts/c.txt", localEntry{sum: digest{2}})
	some := MakePlan(files, local, Inventory{Staged: tableOf(Sums{"texts/b.txt": digest{1}.hex()}), Partial: tableOf(Sums{"texts/c.txt": digest{2}.hex()})})
	r = roomNeeded(some, 4096)
	if r.Inodes != 2+2 || r.Bytes != int64(2+1+4)*4096 {
		t.Errorf("with a link and a resumed file: %+v, want 4 inodes and %d bytes", r, (2+1+4)*4096)
	}
}

// TestRoomOnNetworkVolume: a shared volume on CephFS (4 MiB block) or NFS
// (its 1 MiB wsize as the block) takes 10 000 files of 1 KiB in far less
// than 1 GiB; counting a block a file would ask 10 GiB and refuse it.
func TestRoomOnNetworkVolume(t *testing.T) {
	var files []dataset.File
	for i := range 10000 {
		files = append(files, dataset.File{Rel: fmt.Sprintf("texts/%05d.txt", i), Size: 1024})
	}
	plan := MakePlan(files, NewLocal(files), Inventory{})
	for _, block := range []int64{1 << 20, 4 << 20} {
		inv := proto.Message{Space: &proto.Space{FreeBytes: 1 << 30, FreeInodes: -1, BlockSize: block}}
		if err := checkRoom(plan, inv, "cats"); err != nil {
			t.Errorf("block %d: %v", block, err)
		}
	}
	// A local filesystem's block still counts: 64 KiB blocks, 625 MiB.
	inv := proto.Message{Space: &proto.Space{FreeBytes: 600 << 20, FreeInodes: -1, BlockSize: 64 << 10}}
	if err := checkRoom(plan, inv, "cats"); exitcode.Of(err) != exitcode.Staging {
		t.Errorf("64 KiB blocks, 600 MiB free: %v, want exit %d", err, exitcode.Staging)
	}
}

func TestCheckRoomRefusesBeforeSending(t *testing.T) {
	files := roomFiles()
	plan := MakePlan(files, NewLocal(files), Inventory{})
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

// smallVolume passes the agent's messages through, with the inventory's
// free space replaced by free bytes: a volume that small, as far as the
// plugin can tell. What the agent reads of the stream is counted.
type smallVolume struct {
	inner podexec.Runner
	free  int64
	read  *int64
}

func (s smallVolume) Run(ctx context.Context, command []string, stdin io.Reader, stdout, stderr io.Writer) error {
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			line := sc.Bytes()
			var m proto.Message
			if json.Unmarshal(line, &m) == nil && m.T == proto.MsgInventory {
				m.Space = &proto.Space{FreeBytes: s.free, FreeInodes: 1000, BlockSize: 4096}
				line, _ = json.Marshal(m)
			}
			_, _ = stdout.Write(append(line, '\n'))
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	err := s.inner.Run(ctx, command, countingReader{r: stdin, n: s.read}, pw, stderr)
	_ = pw.Close()
	<-done
	return err
}

type countingReader struct {
	r io.Reader
	n *int64
}

func (c countingReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	*c.n += int64(k)
	return k, err
}

// A push the volume has no room for stops before the stream: exit 7, the
// agent reads not a byte of it, and the partial folder it made for the
// push is gone when the push is.
func TestStageWithoutRoomSendsNothing(t *testing.T) {
	w := newWorld(t)
	w.lazy = true
	o := w.options(context.Background())
	var read int64
	a, err := podexec.Deliver(context.Background(), smallVolume{inner: w.runner, free: 8 << 10, read: &read})
	if err != nil {
		t.Fatal(err)
	}
	o.Agent = a
	read = 0
	_, err = Sync(context.Background(), o)
	if exitcode.Of(err) != exitcode.Staging || !strings.Contains(err.Error(), "nothing was sent") {
		t.Fatalf("err = %v (exit %d), want exit 7 saying nothing was sent", err, exitcode.Of(err))
	}
	if read != 0 {
		t.Errorf("the agent read %d bytes of the stream", read)
	}
	if got := tree(t, w.volume); len(got) != 0 {
		t.Errorf("left on the volume: %v", got)
	}
	entries, _ := os.ReadDir(w.stagingRoot())
	for _, e := range entries {
		t.Errorf("left in the staging folder: %s", e.Name())
	}
	// With room, the same push goes through.
	o.Agent = w.agent()
	if _, err := Sync(context.Background(), o); err != nil {
		t.Fatal(err)
	}
}
