//go:build linux

package agent

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
)

// TestRemoveRefusesASetAsideNameThatClimbsOut: a name shaped like a
// set-aside copy (".old-<table>-<suffix>") must still be a single entry of
// the staging folder; with a slash it resolves through an existing leftover
// and reaches anything on the volume.
func TestRemoveRefusesASetAsideNameThatClimbsOut(t *testing.T) {
	for _, bad := range []string{
		".old-cats-abc/../../victim",
		".old-cats-abc/../../../victim",
		".old-cats-abc/..",
		".old-cats-",
		".old-cats-.",
		".old-cats-..",
	} {
		t.Run(bad, func(t *testing.T) {
			vol := filepath.Join(t.TempDir(), "vol")
			staging := filepath.Join(vol, proto.StagingDir)
			must(t, os.MkdirAll(filepath.Join(staging, ".old-cats-abc"), 0o755))
			victim := filepath.Join(vol, "victim")
			must(t, os.MkdirAll(victim, 0o755))
			must(t, os.WriteFile(filepath.Join(victim, "keep.txt"), []byte("another tenant's"), 0o644))
			outside := filepath.Join(filepath.Dir(vol), "victim")
			must(t, os.MkdirAll(outside, 0o755))
			must(t, os.WriteFile(filepath.Join(outside, "keep.txt"), []byte("outside the volume"), 0o644))

			_, code := runAgent(t, vol, nil, proto.CmdRemove, bad)
			if code != proto.KindUsage.Code() {
				t.Errorf("remove %q: exit %d, want usage (%d)", bad, code, proto.KindUsage.Code())
			}
			for _, p := range []string{filepath.Join(victim, "keep.txt"), filepath.Join(outside, "keep.txt"), filepath.Join(staging, ".old-cats-abc")} {
				if _, err := os.Lstat(p); err != nil {
					t.Errorf("remove %q removed %s: %v", bad, p, err)
				}
			}
		})
	}
}

// noCommit is a stream that ends after the tar, before the commit line: the
// push stopped, its verified files stay in the partial copy.
func noCommit(in []byte) []byte { return in[:len(in)-len(proto.Commit)-1] }

// tree lists every entry under dir ("folder/" for a folder) with the
// content of files.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case info.IsDir():
			out[rel+"/"] = ""
		case info.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] = string(b)
		default:
			out[rel] = info.Mode().String()
		}
		return nil
	})
	must(t, err)
	return out
}

// TestSwappedCopyHoldsNoFolderOfAnEarlierPush: the partial copy of an
// earlier push may hold a folder the new dataset does not have; its files
// are dropped, and so must be the folder, or the staged copy holds a class
// (a folder) the user never pushed.
func TestSwappedCopyHoldsNoFolderOfAnEarlierPush(t *testing.T) {
	vol := t.TempDir()
	_, code := runAgent(t, vol, noCommit(stream(t, map[string]string{"labels.csv": "a", "dogs/1.png": "d"}, nil)),
		proto.CmdStage, "--table", "cats", "--nonce", "n1")
	if code != proto.KindAborted.Code() {
		t.Fatalf("first push: exit %d, want aborted", code)
	}
	msgs, code := runAgent(t, vol, stream(t, map[string]string{"labels.csv": "b", "cats/1.png": "c"}, nil),
		proto.CmdStage, "--table", "cats", "--nonce", "n2")
	if code != 0 || last(msgs).T != proto.MsgSwapped {
		t.Fatalf("second push: exit %d, %+v", code, msgs)
	}
	want := map[string]string{"labels.csv": "b", "cats/": "", "cats/1.png": "c"}
	if diff := cmp.Diff(want, tree(t, filepath.Join(vol, proto.StagingDir, "cats"))); diff != "" {
		t.Errorf("staged copy (-want +got):\n%s", diff)
	}
}

// TestPartialFileWhereTheNewPushHasAFolder: an earlier push of the table had
// a file "images"; the new one has a folder "images/". The file is the
// agent's own, in its own partial copy: it must give way, not stop every
// later push of the table with an "unsafe entry" until someone cleans up.
func TestPartialFileWhereTheNewPushHasAFolder(t *testing.T) {
	vol := t.TempDir()
	_, code := runAgent(t, vol, noCommit(stream(t, map[string]string{"labels.csv": "a", "images": "a file"}, nil)),
		proto.CmdStage, "--table", "cats", "--nonce", "n1")
	if code != proto.KindAborted.Code() {
		t.Fatalf("first push: exit %d, want aborted", code)
	}
	msgs, code := runAgent(t, vol, stream(t, map[string]string{"labels.csv": "a", "images/1.png": "p"}, nil),
		proto.CmdStage, "--table", "cats", "--nonce", "n2")
	if code != 0 || last(msgs).T != proto.MsgSwapped {
		t.Fatalf("second push: exit %d, %+v", code, msgs)
	}
	want := map[string]string{"labels.csv": "a", "images/": "", "images/1.png": "p"}
	if diff := cmp.Diff(want, tree(t, filepath.Join(vol, proto.StagingDir, "cats"))); diff != "" {
		t.Errorf("staged copy (-want +got):\n%s", diff)
	}
}
