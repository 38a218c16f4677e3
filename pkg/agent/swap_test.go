//go:build linux

package agent

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
)

// strangerUID is the uid of another tenant of the shared volume.
const strangerUID = 4242

// asStranger runs f on an OS thread of its own whose uid and gid are
// strangerUID's (Linux credentials are per thread; the thread is dropped
// when f returns). Without root, f runs as the test's own uid: the planter
// then has the agent's uid, which only makes it stronger.
func asStranger(f func()) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// Never unlocked: the goroutine's end retires the thread.
		if os.Geteuid() == 0 {
			if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, strangerUID, strangerUID, strangerUID); e != 0 {
				done <- e
				return
			}
			if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, strangerUID, strangerUID, strangerUID); e != 0 {
				done <- e
				return
			}
		}
		f()
		done <- nil
	}()
	if err := <-done; err != nil {
		return fmt.Errorf("becoming uid %d: %w", strangerUID, err)
	}
	return nil
}

// sharedVolume makes a folder shaped like client-pvc's root: mode 2777, no
// sticky bit, reachable by every uid.
func sharedVolume(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	must(t, os.Chmod(filepath.Dir(base), 0o755))
	must(t, os.Chmod(base, 0o755))
	vol := filepath.Join(base, "vol")
	must(t, os.Mkdir(vol, 0o777))
	must(t, os.Chmod(vol, os.ModeSetgid|0o777))
	return vol
}

// plantStaging renames the staging folder away and puts a folder of the
// stranger's in its place, holding a copy of table with planted files.
func plantStaging(vol, table, aside string) error {
	staging := filepath.Join(vol, proto.StagingDir)
	if err := os.Rename(staging, filepath.Join(vol, aside)); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(staging, table), 0o777); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(staging, table, "labels.csv"), []byte("planted"), 0o666)
}

// TestSwapProvesTheStagingFolderIsInPlace: between "verified" and the
// commit, another uid renames .tracebloc-staging away and plants its own
// with a copy of the table. The push must not report the swap: the path
// the ingestor reads holds the planted files, not the push's.
func TestSwapProvesTheStagingFolderIsInPlace(t *testing.T) {
	vol := sharedVolume(t)
	files := map[string]string{"labels.csv": "a,b\n", "images/1.png": "png"}
	in := stream(t, files, nil)
	a := startAgent(t, vol, "cats", "n1")
	a.waitFor(t, proto.MsgInventory)
	_, _ = a.in.Write(noCommit(in))
	a.waitFor(t, proto.MsgVerified)
	var perr error
	must(t, asStranger(func() { perr = plantStaging(vol, "cats", ".aside") }))
	must(t, perr)
	_, _ = a.in.Write([]byte(proto.Commit + "\n"))
	a.in.Close()
	code := <-a.code
	if code == 0 || strings.Contains(a.out.String(), `"t":"`+proto.MsgSwapped+`"`) {
		t.Fatalf("the push reported a swap (exit %d) while %s/cats holds the planted files: %s", code, proto.StagingDir, a.out.String())
	}
	if code != proto.KindSwap.Code() {
		t.Errorf("exit %d, want the swap failure (%d): %s", code, proto.KindSwap.Code(), a.out.String())
	}
}

// TestSwapRacingAStagingPlanter: over many rounds, another uid renames the
// staging folder away at a random moment of the push and plants its own.
// A push whose staging folder was gone from its path before it checked the
// swap must not report one; every push that reports a swap leaves its
// files, in a staging folder of the agent's uid, unless the planter struck
// after the check (then nothing the agent does can tell).
func TestSwapRacingAStagingPlanter(t *testing.T) {
	files := map[string]string{"labels.csv": "a,b\n", "images/1.png": "png", "images/2.png": "png2"}
	want := map[string]string{"labels.csv": "a,b\n", "images/": "", "images/1.png": "png", "images/2.png": "png2"}
	in := stream(t, files, nil)
	var checked atomic.Int64 // when the agent began checking its swap
	beforeProof = func() { checked.Store(time.Now().UnixNano()) }
	t.Cleanup(func() { beforeProof = func() {} })
	// How long one push takes here, to spread the planter over it.
	span := time.Hour
	for range 5 {
		vol := sharedVolume(t)
		start := time.Now()
		if _, code := runAgent(t, vol, in, proto.CmdStage, "--table", "cats", "--nonce", "probe"); code != 0 {
			t.Fatalf("a push without the planter: exit %d", code)
		}
		span = min(span, time.Since(start))
	}
	rounds := 300
	if testing.Short() {
		rounds = 60
	}
	counts := map[string]int{}
	for round := range rounds {
		vol := sharedVolume(t)
		// Half the rounds start on a staged copy, so the swap exchanges.
		if round%2 == 1 {
			if _, code := runAgent(t, vol, stream(t, map[string]string{"labels.csv": "old"}, nil), proto.CmdStage, "--table", "cats", "--nonce", "old"); code != 0 {
				t.Fatalf("round %d: the first push: exit %d", round, code)
			}
		}
		checked.Store(0)
		delay := time.Duration(rand.Int64N(int64(span) + 1))
		var planted atomic.Int64
		done := make(chan error, 1)
		go func() {
			var err error
			if serr := asStranger(func() {
				time.Sleep(delay)
				err = plantStaging(vol, "cats", ".aside")
				planted.Store(time.Now().UnixNano())
			}); serr != nil {
				err = serr
			}
			done <- err
		}()
		msgs, code := runAgent(t, vol, in, proto.CmdStage, "--table", "cats", "--nonce", "n")
		perr := <-done
		swapped := last(msgs).T == proto.MsgSwapped
		if swapped != (code == 0) {
			t.Fatalf("round %d: exit %d, last message %+v", round, code, last(msgs))
		}
		if perr != nil {
			counts["planter missed"]++ // no staging folder yet to rename
			continue
		}
		if !swapped {
			counts["refused"]++
			continue
		}
		staging := filepath.Join(vol, proto.StagingDir)
		var st unix.Stat_t
		must(t, unix.Lstat(staging, &st))
		got := tree(t, filepath.Join(staging, "cats"))
		if st.Uid == uint32(os.Geteuid()) && cmp.Equal(want, got) {
			counts["swapped, then planted"]++
			continue
		}
		if c := checked.Load(); c == 0 || planted.Load() < c {
			t.Fatalf("round %d (planter after %v, before the agent checked its swap): the push reported a swap, but %s (uid %d) holds (-want +got):\n%s",
				round, delay, staging, st.Uid, cmp.Diff(want, got))
		}
		counts["planted after the check"]++
	}
	t.Logf("%d rounds: %v", rounds, counts)
	if counts["refused"] == 0 {
		t.Errorf("the planter never struck during a push in %d rounds (span %v): the test shows nothing", rounds, span)
	}
}

// TestStagingFolderOfAnotherUIDIsRefused: a .tracebloc-staging that
// another uid made is not the push's to stage in: its owner could swap a
// table in it after the push checked it. A folder of the agent's own that
// others may write to loses that write.
func TestStagingFolderOfAnotherUIDIsRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to act as another uid")
	}
	vol := sharedVolume(t)
	staging := filepath.Join(vol, proto.StagingDir)
	var merr error
	must(t, asStranger(func() { merr = os.Mkdir(staging, 0o777) }))
	must(t, merr)
	msgs, code := runAgent(t, vol, stream(t, map[string]string{"labels.csv": "a"}, nil), proto.CmdStage, "--table", "cats", "--nonce", "n")
	if code != proto.KindUnsafe.Code() || !strings.Contains(last(msgs).Msg, "owned by uid 4242") {
		t.Fatalf("exit %d, %+v: want the unsafe failure naming the owner", code, last(msgs))
	}
	if got := tree(t, staging); len(got) != 0 {
		t.Errorf("the push wrote into the stranger's staging folder: %v", got)
	}

	must(t, os.Remove(staging))
	must(t, os.Mkdir(staging, 0o777))
	must(t, os.Chmod(staging, os.ModeSetgid|0o777))
	if _, code := runAgent(t, vol, stream(t, map[string]string{"labels.csv": "a"}, nil), proto.CmdStage, "--table", "cats", "--nonce", "n"); code != 0 {
		t.Fatalf("exit %d on the agent's own staging folder", code)
	}
	fi, err := os.Stat(staging)
	must(t, err)
	if perm := fi.Mode() & (os.ModePerm | os.ModeSetgid); perm != os.ModeSetgid|0o755 {
		t.Errorf("the staging folder is %v, want g+s and 0755 (the ingestor reads, nobody else writes)", perm)
	}
}

// TestHardLinkInTheStagedCopyIsNotReused: a file of the staged copy that
// another name links to (planted from outside the table, with the same
// content) is neither offered for reuse nor linked into the new copy: the
// new copy shares no inode with a stranger's file.
func TestHardLinkInTheStagedCopyIsNotReused(t *testing.T) {
	vol := t.TempDir()
	files := map[string]string{"labels.csv": "a", "images/1.png": "png"}
	if _, code := runAgent(t, vol, stream(t, files, nil), proto.CmdStage, "--table", "cats", "--nonce", "n1"); code != 0 {
		t.Fatalf("first push: exit %d", code)
	}
	staged := filepath.Join(vol, proto.StagingDir, "cats", "images", "1.png")
	outside := filepath.Join(vol, "stranger.png")
	must(t, os.WriteFile(outside, []byte("png"), 0o644))
	must(t, os.Remove(staged))
	must(t, os.Link(outside, staged))

	// The inventory must not offer it; a plan that reuses it all the same
	// (what a plugin that trusted the inventory would send) gets it resent.
	a := startAgent(t, vol, "cats", "n2")
	a.waitFor(t, proto.MsgInventory)
	var inv proto.Message
	must(t, json.NewDecoder(strings.NewReader(a.out.String())).Decode(&inv))
	if _, ok := inv.Staged["images/1.png"]; ok {
		t.Errorf("the inventory offers the hard-linked file for reuse: %v", inv.Staged)
	}
	plan := proto.Plan{Expected: map[string]string{"labels.csv": sum([]byte("a")), "images/1.png": sum([]byte("png"))}, Reuse: []string{"images/1.png"}}
	_, _ = a.in.Write(planStream(t, plan, map[string]string{"labels.csv": "a"}))
	a.in.Close()
	code := <-a.code
	var out unix.Stat_t
	must(t, unix.Stat(outside, &out))
	// Neither the new copy being built nor a swapped one may hold it.
	must(t, filepath.Walk(filepath.Join(vol, proto.StagingDir), func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Ino == out.Ino && p != staged {
			t.Errorf("%s shares an inode with the stranger's file (exit %d)", p, code)
		}
		return nil
	}))
	if code == 0 {
		var st unix.Stat_t
		if unix.Stat(staged, &st) == nil && st.Ino == out.Ino {
			t.Errorf("the swapped copy shares an inode with the stranger's file: %s", a.out.String())
		}
	}
}

// planStream is a stream with the given plan, the files given, the commit.
func planStream(t testing.TB, plan proto.Plan, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	write := func(name string, data []byte) {
		must(t, tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}))
		_, _ = tw.Write(data)
	}
	pj, err := json.Marshal(plan)
	must(t, err)
	write(proto.EntryPlan, pj)
	for rel, content := range files {
		write(proto.EntryData+rel, []byte(content))
	}
	must(t, tw.Close())
	buf.WriteString(proto.Commit + "\n")
	return buf.Bytes()
}
