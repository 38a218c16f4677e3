//go:build linux

package agent

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
)

// sealedPlan keeps the copy the inventory confirmed, naming no file.
func sealedPlan(seal string, files int) proto.Plan {
	return proto.Plan{Expected: map[string]string{}, Keep: seal, Sealed: files}
}

// TestSealedInventoryConfirmsWithoutListing: asked for the seal it
// reported, with the right count of files, the inventory confirms the
// copy and lists none of its files; the plan that keeps it naming no
// file keeps it in place.
func TestSealedInventoryConfirmsWithoutListing(t *testing.T) {
	vol := t.TempDir()
	seal := pushFirst(t, vol)
	table := filepath.Join(vol, proto.StagingDir, "cats")
	dirIno := inode(t, table)
	msgs, code := runAgent(t, vol, planStream(t, sealedPlan(seal, 3), nil), proto.CmdStage, "--table", "cats", "--nonce", "n2",
		"--sealed", seal, "--sealed-files", "3")
	if code != 0 {
		t.Fatalf("exit %d: %+v", code, msgs)
	}
	if inv := msgs[0]; inv.T != proto.MsgInventory || inv.Sealed != 3 || inv.Seal != seal || len(inv.Staged) != 0 {
		t.Errorf("inventory %+v: want the seal confirmed for 3 files and none listed", inv)
	}
	if end := last(msgs); end.T != proto.MsgSwapped || !end.Kept || end.Files != 3 || end.Seal != seal {
		t.Errorf("the push did not keep the staged copy: %+v", end)
	}
	if inode(t, table) != dirIno {
		t.Error("the staged copy was replaced")
	}
}

// TestSealedInventoryListsWhatItCannotConfirm: another seal, another
// count of files, a staged file written with its mtime put back, a file
// planted beside the copy's: the inventory lists the staged files as
// usual (the plugin takes the full path).
func TestSealedInventoryListsWhatItCannotConfirm(t *testing.T) {
	for _, c := range []struct {
		name   string
		args   func(seal string) []string
		change func(t *testing.T, table string)
	}{
		{"another seal", func(seal string) []string { return []string{"--sealed", seal + "0", "--sealed-files", "3"} }, nil},
		{"another count", func(seal string) []string { return []string{"--sealed", seal, "--sealed-files", "4"} }, nil},
		{"written in place", func(seal string) []string { return []string{"--sealed", seal, "--sealed-files", "3"} }, func(t *testing.T, table string) {
			p := filepath.Join(table, "images", "1.png")
			st, err := os.Stat(p)
			must(t, err)
			time.Sleep(10 * time.Millisecond)
			must(t, os.WriteFile(p, []byte("png-ONE"), 0o644))
			must(t, os.Chtimes(p, st.ModTime(), st.ModTime()))
		}},
		{"planted", func(seal string) []string { return []string{"--sealed", seal, "--sealed-files", "3"} }, func(t *testing.T, table string) {
			must(t, os.WriteFile(filepath.Join(table, "images", "3.png"), []byte("planted"), 0o644))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			vol := t.TempDir()
			seal := pushFirst(t, vol)
			table := filepath.Join(vol, proto.StagingDir, "cats")
			if c.change != nil {
				c.change(t, table)
			}
			args := append([]string{proto.CmdStage, "--table", "cats", "--nonce", "n2"}, c.args(seal)...)
			msgs, _ := runAgent(t, vol, nil, args...)
			if len(msgs) == 0 || msgs[0].T != proto.MsgInventory {
				t.Fatalf("no inventory: %+v", msgs)
			}
			if inv := msgs[0]; inv.Sealed != 0 || len(inv.Staged) < 3 {
				t.Errorf("inventory confirmed %d files and listed %d: want the staged files listed", inv.Sealed, len(inv.Staged))
			}
		})
	}
}

// TestSealedPlanNeedsTheConfirmation: a plan that keeps a copy without
// naming its files is refused unless this round's inventory confirmed
// that seal for that count; the staged copy stays as it was.
func TestSealedPlanNeedsTheConfirmation(t *testing.T) {
	for _, c := range []struct {
		name  string
		files int
		args  []string
	}{
		{"no seal asked", 3, nil},
		{"another count", 2, []string{"--sealed-files", "3"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			vol := t.TempDir()
			seal := pushFirst(t, vol)
			table := filepath.Join(vol, proto.StagingDir, "cats")
			dirIno := inode(t, table)
			args := []string{proto.CmdStage, "--table", "cats", "--nonce", "n2"}
			if c.args != nil {
				args = append(append(args, "--sealed", seal), c.args...)
			}
			msgs, code := runAgent(t, vol, planStream(t, sealedPlan(seal, c.files), nil), args...)
			if code != proto.KindStream.Code() || last(msgs).Kind != proto.KindStream {
				t.Errorf("exit %d, %+v: want the plan refused (%s)", code, last(msgs), proto.KindStream)
			}
			if inode(t, table) != dirIno {
				t.Error("the staged copy was replaced")
			}
			for rel, content := range keepFiles {
				if got := string(mustReadFile(t, filepath.Join(table, rel))); got != content {
					t.Errorf("%s holds %q, want %q", rel, got, content)
				}
			}
		})
	}
}

// onFirstRead runs change as the agent first reads its stdin (the plan,
// after it sent the inventory), then reads stdin.
type onFirstRead struct {
	change func()
	r      io.Reader
}

func (o *onFirstRead) Read(p []byte) (int, error) {
	if o.change != nil {
		o.change()
		o.change = nil
	}
	return o.r.Read(p)
}

// TestSealedKeepRefusesACopyChangedAfterTheInventory: the staged copy
// changed on the volume after the inventory confirmed it and before the
// plan that keeps it arrived (a file written in place with its mtime put
// back, a file swapped by rename, a file added) is not reported kept.
func TestSealedKeepRefusesACopyChangedAfterTheInventory(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(t *testing.T, table string)
	}{
		{"written in place", func(t *testing.T, table string) {
			p := filepath.Join(table, "images", "1.png")
			st, err := os.Stat(p)
			must(t, err)
			time.Sleep(10 * time.Millisecond)
			must(t, os.WriteFile(p, []byte("PNG-ONE"), 0o644))
			must(t, os.Chtimes(p, st.ModTime(), st.ModTime()))
		}},
		{"swapped by rename", func(t *testing.T, table string) {
			p := filepath.Join(table, "images", "1.png")
			st, err := os.Stat(p)
			must(t, err)
			must(t, os.WriteFile(p+".new", []byte("PNG-ONE"), 0o644))
			must(t, os.Chtimes(p+".new", st.ModTime(), st.ModTime()))
			must(t, os.Rename(p+".new", p))
		}},
		{"a file added", func(t *testing.T, table string) {
			must(t, os.WriteFile(filepath.Join(table, "images", "3.png"), []byte("planted"), 0o644))
		}},
	} {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			vol := t.TempDir()
			seal := pushFirst(t, vol)
			table := filepath.Join(vol, proto.StagingDir, "cats")
			in := &onFirstRead{change: func() { c.change(t, table) }, r: bytes.NewReader(planStream(t, sealedPlan(seal, 3), nil))}
			var out, errb bytes.Buffer
			code := Main([]string{proto.CmdStage, "--root", vol, "--lock", filepath.Join(t.TempDir(), "lock"),
				"--table", "cats", "--nonce", "n2", "--sealed", seal, "--sealed-files", "3"}, in, &out, &errb)
			var msgs []proto.Message
			for dec := json.NewDecoder(&out); dec.More(); {
				var m proto.Message
				must(t, dec.Decode(&m))
				msgs = append(msgs, m)
			}
			if len(msgs) == 0 || msgs[0].T != proto.MsgInventory || msgs[0].Sealed != 3 {
				t.Fatalf("the inventory did not confirm the copy before the change: %+v", msgs)
			}
			if end := last(msgs); end.Kept || code == 0 {
				t.Errorf("exit %d, %+v: the copy changed after the inventory was reported kept", code, end)
			}
		})
	}
}
