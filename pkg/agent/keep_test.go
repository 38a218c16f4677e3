//go:build linux

package agent

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
)

// keepFiles is the dataset of the keep tests.
var keepFiles = map[string]string{"labels.csv": "file,label\n1.png,a\n", "images/1.png": "png-one", "images/2.png": "png-two"}

// pushFirst stages keepFiles as table cats and returns the seal the swap
// reported.
func pushFirst(t *testing.T, vol string) string {
	t.Helper()
	msgs, code := runAgent(t, vol, stream(t, keepFiles, nil), proto.CmdStage, "--table", "cats", "--nonce", "n1")
	if code != 0 || last(msgs).T != proto.MsgSwapped || last(msgs).Seal == "" {
		t.Fatalf("first push: exit %d, %+v", code, last(msgs))
	}
	return last(msgs).Seal
}

// keepPlan is the plan of an unchanged push of keepFiles asking to keep
// the copy sealed seal.
func keepPlan(seal string) proto.Plan {
	plan := proto.Plan{Expected: map[string]string{}, Keep: seal}
	for rel, content := range keepFiles {
		plan.Expected[rel] = sum([]byte(content))
		plan.Reuse = append(plan.Reuse, rel)
	}
	return plan
}

func inode(t *testing.T, p string) uint64 {
	t.Helper()
	var st unix.Stat_t
	must(t, unix.Lstat(p, &st))
	return st.Ino
}

// TestUnchangedPushKeepsTheStagedCopy: a push whose plan is the staged
// copy, with the seal its inventory reported, keeps the copy in place (the
// same folder and files, no partial copy left) and says so.
func TestUnchangedPushKeepsTheStagedCopy(t *testing.T) {
	vol := t.TempDir()
	seal := pushFirst(t, vol)
	table := filepath.Join(vol, proto.StagingDir, "cats")
	dirIno, fileIno := inode(t, table), inode(t, filepath.Join(table, "images", "1.png"))

	msgs, code := runAgent(t, vol, planStream(t, keepPlan(seal), nil), proto.CmdStage, "--table", "cats", "--nonce", "n2")
	if code != 0 {
		t.Fatalf("exit %d: %+v", code, msgs)
	}
	if msgs[0].T != proto.MsgInventory || msgs[0].Seal != seal {
		t.Errorf("the inventory reports seal %q, the swap reported %q", msgs[0].Seal, seal)
	}
	end := last(msgs)
	if end.T != proto.MsgSwapped || !end.Kept || end.Files != len(keepFiles) || end.Seal != seal {
		t.Errorf("the push did not keep the staged copy: %+v", end)
	}
	if inode(t, table) != dirIno || inode(t, filepath.Join(table, "images", "1.png")) != fileIno {
		t.Errorf("the staged copy was replaced")
	}
	if _, err := os.Lstat(filepath.Join(vol, proto.StagingDir, proto.PartialPrefix+"cats")); err == nil {
		t.Errorf("a partial copy is left behind")
	}
}

// TestKeepRefusesAChangedStagedCopy: whatever another workload changed in
// the staged copy since the push that sealed it, the copy is not kept as
// it is: a file written in place (same size, mtime put back), the same
// with the manifest rewritten to match, a file added, an empty folder. A
// changed file is found by the full path (a mismatch: the plugin sends it
// again); an added entry is dropped from the new copy.
func TestKeepRefusesAChangedStagedCopy(t *testing.T) {
	overwrite := func(t *testing.T, table string) {
		p := filepath.Join(table, "images", "1.png")
		var st unix.Stat_t
		must(t, unix.Stat(p, &st))
		must(t, os.WriteFile(p, []byte("PNG-ONE"), 0o644))
		mt := time.Unix(st.Mtim.Unix())
		must(t, os.Chtimes(p, mt, mt))
	}
	cases := []struct {
		name     string
		change   func(t *testing.T, vol, table string)
		mismatch bool
	}{
		{"a file written in place", func(t *testing.T, _, table string) { overwrite(t, table) }, true},
		{"the manifest rewritten to match", func(t *testing.T, vol, table string) {
			overwrite(t, table)
			forgeManifest(t, vol, filepath.Join(table, "images", "1.png"))
		}, true},
		{"a file added", func(t *testing.T, _, table string) {
			must(t, os.WriteFile(filepath.Join(table, "images", "3.png"), []byte("planted"), 0o644))
		}, false},
		{"an empty folder added", func(t *testing.T, _, table string) {
			must(t, os.Mkdir(filepath.Join(table, "dogs"), 0o755))
		}, false},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			vol := t.TempDir()
			seal := pushFirst(t, vol)
			table := filepath.Join(vol, proto.StagingDir, "cats")
			c.change(t, vol, table)
			msgs, code := runAgent(t, vol, planStream(t, keepPlan(seal), nil), proto.CmdStage, "--table", "cats", "--nonce", "n2")
			end := last(msgs)
			if end.Kept {
				t.Fatalf("the changed copy was kept: %+v", end)
			}
			if c.mismatch {
				if code != proto.KindMismatch.Code() {
					t.Fatalf("exit %d, want a mismatch: %+v", code, msgs)
				}
				return
			}
			if code != 0 || end.T != proto.MsgSwapped {
				t.Fatalf("exit %d: %+v", code, msgs)
			}
			for _, p := range []string{filepath.Join(table, "images", "3.png"), filepath.Join(table, "dogs")} {
				if _, err := os.Lstat(p); err == nil {
					t.Errorf("%s is in the new copy", p)
				}
			}
		})
	}
}

// forgeManifest rewrites the manifest's line of file p with what stat says
// of it now, keeping the hash of the content it had: what a workload that
// knows the format would do to hide a change.
func forgeManifest(t *testing.T, vol, p string) {
	t.Helper()
	mp := filepath.Join(vol, proto.StagingDir, ".cats"+proto.ManifestSuffix)
	b, err := os.ReadFile(mp)
	must(t, err)
	var st unix.Stat_t
	must(t, unix.Stat(p, &st))
	lines := strings.Split(string(b), "\n")
	found := false
	for i, l := range lines {
		f := strings.SplitN(l, " ", 6)
		if len(f) == 6 && f[5] == "images/1.png" {
			lines[i] = strings.Join([]string{f[0], itoa(st.Size), itoa(st.Mtim.Nano()), itoa(st.Ctim.Nano()), itoa(int64(st.Ino)), f[5]}, " ")
			found = true
		}
	}
	if !found {
		t.Fatalf("no manifest line for images/1.png: %s", b)
	}
	must(t, os.WriteFile(mp, []byte(strings.Join(lines, "\n")), 0o644))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestReusedFileWrittenAfterTheSwapIsNotSealed: a reused file written in
// place while the swap removes the previous copy (after the last stat
// compared with the verified one) is not recorded in the new manifest with
// the hash taken before: the next push does not keep the copy.
func TestReusedFileWrittenAfterTheSwapIsNotSealed(t *testing.T) {
	vol := t.TempDir()
	pushFirst(t, vol)
	table := filepath.Join(vol, proto.StagingDir, "cats")
	written := false
	afterRemoval = func() {
		must(t, os.WriteFile(filepath.Join(table, "images", "1.png"), []byte("PNG-ONE"), 0o644))
		written = true
	}
	t.Cleanup(func() { afterRemoval = func() {} })
	full := keepPlan("")
	msgs, code := runAgent(t, vol, planStream(t, full, nil), proto.CmdStage, "--table", "cats", "--nonce", "n2")
	afterRemoval = func() {}
	if code != 0 || last(msgs).T != proto.MsgSwapped || !written {
		t.Fatalf("reusing push: exit %d, written %v, %+v", code, written, last(msgs))
	}
	msgs, _ = runAgent(t, vol, planStream(t, keepPlan(last(msgs).Seal), nil), proto.CmdStage, "--table", "cats", "--nonce", "n3")
	if end := last(msgs); end.Kept {
		t.Errorf("the copy with a file written after its verification was kept in place: %+v", end)
	}
}
