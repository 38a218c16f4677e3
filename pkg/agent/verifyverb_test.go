//go:build linux

package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
)

// verifyRun runs the verify verb and gathers its batches.
func verifyRun(t *testing.T, vol string, args ...string) ([]proto.VerifyFile, *proto.Verify, int) {
	t.Helper()
	msgs, code := runAgent(t, vol, nil, append([]string{proto.CmdVerify}, args...)...)
	var files []proto.VerifyFile
	var done *proto.Verify
	for _, m := range msgs {
		switch m.T {
		case proto.MsgVerifyFiles:
			if len(m.Verify.Files) > proto.MaxVerifyBatch {
				t.Errorf("a batch of %d files, more than %d", len(m.Verify.Files), proto.MaxVerifyBatch)
			}
			files = append(files, m.Verify.Files...)
		case proto.MsgVerifyDone:
			done = m.Verify
		}
	}
	return files, done, code
}

// TestVerifyReportsTheStagedCopy: every staged file with its size and
// hash; the manifest is trusted only while the file is unchanged, --deep
// trusts it never; links and FIFOs are named, not opened; nothing on the
// volume changes.
func TestVerifyReportsTheStagedCopy(t *testing.T) {
	vol := t.TempDir()
	files := map[string]string{"labels.csv": "filename,label\nx.png,cat\n", "images/x.png": "png", "images/y.png": "png2"}
	if msgs, code := runAgent(t, vol, stream(t, files, nil), proto.CmdStage, "--table", "cats", "--nonce", "n1"); code != 0 {
		t.Fatalf("stage: exit %d %+v", code, msgs)
	}
	copyDir := filepath.Join(vol, proto.StagingDir, "cats")
	outside := filepath.Join(t.TempDir(), "secret")
	write(t, outside, "not yours")
	must(t, os.Symlink(outside, filepath.Join(copyDir, "images", "link.png")))
	must(t, syscall.Mkfifo(filepath.Join(copyDir, "images", "pipe.png"), 0o644))
	before := tree(t, vol)

	want := []proto.VerifyFile{
		{Path: "images/x.png", Size: 3, SHA256: sum([]byte("png"))},
		{Path: "images/y.png", Size: 4, SHA256: sum([]byte("png2"))},
		{Path: "labels.csv", Size: int64(len(files["labels.csv"])), SHA256: sum([]byte(files["labels.csv"]))},
	}
	got, done, code := verifyRun(t, vol, "--table", "cats")
	if code != 0 || done == nil {
		t.Fatalf("verify: exit %d, done %+v", code, done)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	wantOdd := []proto.VerifyOdd{{Path: "images/link.png", What: "a symbolic link"}, {Path: "images/pipe.png", What: "a FIFO"}}
	if diff := cmp.Diff(wantOdd, sortedOdd(done.Odd)); diff != "" || done.OddCount != 2 || !done.Staged || done.Count != 3 || done.Bytes != 7+int64(len(files["labels.csv"])) {
		t.Errorf("done %+v, odd (-want +got):\n%s", done, diff)
	}
	if done.Hashed != 0 {
		t.Errorf("hashed %d files, want 0: the manifest holds every unchanged file", done.Hashed)
	}

	// Rewritten in place behind the manifest's back: the stat no longer
	// matches, so the file is read again, not taken from the manifest.
	write(t, filepath.Join(copyDir, "images", "x.png"), "PNG")
	got, done, _ = verifyRun(t, vol, "--table", "cats")
	if got[0].SHA256 != sum([]byte("PNG")) || done.Hashed != 1 {
		t.Errorf("after a rewrite: %+v, hashed %d; want the new hash, one file hashed", got[0], done.Hashed)
	}
	_, done, _ = verifyRun(t, vol, "--table", "cats", "--deep")
	if done.Hashed != 3 {
		t.Errorf("--deep hashed %d files, want all 3", done.Hashed)
	}
	before[".tracebloc-staging/cats/images/x.png"] = "PNG"
	if diff := cmp.Diff(before, tree(t, vol)); diff != "" {
		t.Errorf("verify changed the volume (-before +after):\n%s", diff)
	}
}

func sortedOdd(odd []proto.VerifyOdd) []proto.VerifyOdd {
	out := append([]proto.VerifyOdd(nil), odd...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j].Path < out[i].Path {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// TestVerifyOfATableNeverStaged: no staging folder, or none for the table,
// is a plain answer (not staged), not a failure; a link in place of the
// staged copy is refused, never followed.
func TestVerifyOfATableNeverStaged(t *testing.T) {
	vol := t.TempDir()
	_, done, code := verifyRun(t, vol, "--table", "cats")
	if code != 0 || done == nil || done.Staged {
		t.Fatalf("no staging folder: exit %d, %+v", code, done)
	}
	must(t, os.MkdirAll(filepath.Join(vol, proto.StagingDir), 0o755))
	_, done, code = verifyRun(t, vol, "--table", "cats")
	if code != 0 || done == nil || done.Staged {
		t.Fatalf("no staged copy: exit %d, %+v", code, done)
	}
	elsewhere := t.TempDir()
	write(t, filepath.Join(elsewhere, "labels.csv"), "x")
	must(t, os.Symlink(elsewhere, filepath.Join(vol, proto.StagingDir, "cats")))
	msgs, code := runAgent(t, vol, nil, proto.CmdVerify, "--table", "cats")
	if code != proto.KindUnsafe.Code() || last(msgs).Kind != proto.KindUnsafe {
		t.Errorf("a link as the staged copy: exit %d, %+v; want the unsafe kind", code, last(msgs))
	}
	if msgs, code := runAgent(t, vol, nil, proto.CmdVerify, "--table", "../etc"); code != proto.KindUsage.Code() {
		t.Errorf("unsafe table: exit %d %+v", code, msgs)
	}
}

// TestVerifyNamesEveryFileAsItIsOnTheVolume: names no push stages (not
// UTF-8, a newline) planted in the staged copy are reported as odd, never
// as files under a name they do not have: JSON would turn "a\xff.png" and
// "a\xfe.png" both into "a\uFFFD.png", a name a dataset may hold, and
// verify would compare the wrong file with it.
func TestVerifyNamesEveryFileAsItIsOnTheVolume(t *testing.T) {
	vol := t.TempDir()
	files := map[string]string{"labels.csv": "x", "images/a\uFFFD.png": "real"}
	if msgs, code := runAgent(t, vol, stream(t, files, nil), proto.CmdStage, "--table", "cats", "--nonce", "n1"); code != 0 {
		t.Fatalf("stage: exit %d %+v", code, msgs)
	}
	copyDir := filepath.Join(vol, proto.StagingDir, "cats")
	// The real file goes; two files that JSON cannot name take its place.
	must(t, os.Remove(filepath.Join(copyDir, "images", "a\uFFFD.png")))
	write(t, filepath.Join(copyDir, "images", "a\xff.png"), "real")
	write(t, filepath.Join(copyDir, "images", "a\xfe.png"), "fake")
	write(t, filepath.Join(copyDir, "images", "new\nline.png"), "nl")
	got, done, code := verifyRun(t, vol, "--table", "cats")
	if code != 0 || done == nil {
		t.Fatalf("verify: exit %d, done %+v", code, done)
	}
	for _, f := range got {
		if fi, err := os.Lstat(filepath.Join(copyDir, f.Path)); err != nil || !fi.Mode().IsRegular() {
			t.Errorf("verify reports a file %q, which the staged copy does not hold under that name (%v)", f.Path, err)
		}
	}
	if len(got) != 1 || done.OddCount != 3 {
		t.Errorf("files %+v, %d odd entries %+v; want labels.csv alone and the 3 planted names as odd", got, done.OddCount, done.Odd)
	}
}

// TestVerifyTrustsOnlyTheAgentsOwnManifest: another uid rewrites a staged
// file and plants a manifest that gives the file's new stat with the old
// hash (in a staging folder it owns, or as a hard link). Without --deep,
// verify takes hashes from the manifest; one the agent did not write, or
// that another name links to, must not be believed: the file is read.
func TestVerifyTrustsOnlyTheAgentsOwnManifest(t *testing.T) {
	for _, tt := range []struct {
		name  string
		plant func(t *testing.T, manifest string)
	}{
		{"owned by another uid", func(t *testing.T, manifest string) { must(t, os.Lchown(manifest, strangerUID, strangerUID)) }},
		{"hard-linked", func(t *testing.T, manifest string) {
			must(t, os.Link(manifest, filepath.Join(filepath.Dir(filepath.Dir(manifest)), "kept")))
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if os.Geteuid() != 0 && tt.name == "owned by another uid" {
				t.Skip("chown needs root")
			}
			vol := t.TempDir()
			files := map[string]string{"labels.csv": "x", "images/x.png": "png"}
			if msgs, code := runAgent(t, vol, stream(t, files, nil), proto.CmdStage, "--table", "cats", "--nonce", "n1"); code != 0 {
				t.Fatalf("stage: exit %d %+v", code, msgs)
			}
			staging := filepath.Join(vol, proto.StagingDir)
			x := filepath.Join(staging, "cats", "images", "x.png")
			write(t, x, "PNG")
			var st syscall.Stat_t
			must(t, syscall.Stat(x, &st))
			manifest := filepath.Join(staging, ".cats"+proto.ManifestSuffix)
			must(t, os.Remove(manifest))
			forged := fmt.Sprintf("%s\n%s %d %d %d %d images/x.png\n", manifestHeader, sum([]byte("png")), st.Size,
				st.Mtim.Nano(), st.Ctim.Nano(), st.Ino)
			write(t, manifest, forged)
			tt.plant(t, manifest)
			got, _, code := verifyRun(t, vol, "--table", "cats")
			if code != 0 || len(got) != 2 {
				t.Fatalf("verify: exit %d, %+v", code, got)
			}
			if got[0].Path != "images/x.png" || got[0].SHA256 != sum([]byte("PNG")) {
				t.Errorf("verify reports %+v: the forged manifest's hash, not the file's (%s)", got[0], sum([]byte("PNG")))
			}
		})
	}
}
