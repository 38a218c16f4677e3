//go:build linux

package agent

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

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

// TestVerifyChecksTheFileOnDiskNotTheStreamItWroteOnce: a plan that both
// reuses a file and sends it (the plugin never makes one, a faulty or
// hostile plan can) lets the reuse link the staged file over the one the
// stream wrote. Verification must judge the file that is there now, not the
// hash the stream had on the way.
func TestVerifyChecksTheFileOnDiskNotTheStreamItWroteOnce(t *testing.T) {
	vol := t.TempDir()
	first := map[string]string{"x.csv": "old"}
	for i := range 2000 {
		first[fmt.Sprintf("f/%04d", i)] = fmt.Sprint(i)
	}
	if _, code := runAgent(t, vol, stream(t, first, nil), proto.CmdStage, "--table", "cats", "--nonce", "n1"); code != 0 {
		t.Fatalf("first push: exit %d", code)
	}
	plan := proto.Plan{Expected: map[string]string{"x.csv": sum([]byte("new"))}}
	for rel, content := range first {
		if rel != "x.csv" {
			plan.Expected[rel] = sum([]byte(content))
			plan.Reuse = append(plan.Reuse, rel)
		}
	}
	sort.Strings(plan.Reuse)
	// x.csv last among the reused: the stream has written it by then.
	plan.Reuse = append(plan.Reuse, "x.csv")
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	pj, _ := json.Marshal(plan)
	must(t, tw.WriteHeader(&tar.Header{Name: proto.EntryPlan, Size: int64(len(pj)), Mode: 0o644, Typeflag: tar.TypeReg}))
	_, _ = tw.Write(pj)
	must(t, tw.WriteHeader(&tar.Header{Name: proto.EntryData + "x.csv", Size: 3, Mode: 0o644, Typeflag: tar.TypeReg}))
	_, _ = tw.Write([]byte("new"))
	must(t, tw.Close())
	buf.WriteString(proto.Commit + "\n")
	msgs, code := runAgent(t, vol, buf.Bytes(), proto.CmdStage, "--table", "cats", "--nonce", "n2")
	got, err := os.ReadFile(filepath.Join(vol, proto.StagingDir, "cats", "x.csv"))
	if code == 0 && (err != nil || string(got) != "new") {
		t.Fatalf("the agent reported %v and exit 0, but the staged x.csv holds %q (%v), not what the plan names", last(msgs).T, got, err)
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and a polling reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// liveAgent is a stage agent whose stdin the test feeds piece by piece.
type liveAgent struct {
	in   *os.File
	out  *syncBuffer
	code chan int
}

// startAgent runs a stage agent as if in its own stage Pod (its own lock).
func startAgent(t *testing.T, vol, table, nonce string) *liveAgent {
	t.Helper()
	pr, pw, err := os.Pipe()
	must(t, err)
	a := &liveAgent{in: pw, out: &syncBuffer{}, code: make(chan int, 1)}
	lock := filepath.Join(t.TempDir(), "lock")
	go func() {
		a.code <- Main([]string{proto.CmdStage, "--root", vol, "--lock", lock, "--table", table, "--nonce", nonce}, pr, a.out, io.Discard)
		pr.Close()
	}()
	t.Cleanup(func() { pw.Close() })
	return a
}

// waitFor waits until the agent has printed a message of type typ.
func (a *liveAgent) waitFor(t *testing.T, typ string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(a.out.String(), `"t":"`+typ+`"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s message: %s", typ, a.out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTwoPushesOfOneTableDoNotMix: two stage Pods push the same table at
// once with different data. Push A claims the partial copy and is still
// streaming when push B claims it, streams, verifies and swaps. Whatever
// A does afterwards, the staged copy must stay exactly B's files: B
// reported it swapped them.
func TestTwoPushesOfOneTableDoNotMix(t *testing.T) {
	vol := t.TempDir()
	filesA := map[string]string{"labels.csv": "A", "a.txt": "A"}
	filesB := map[string]string{"labels.csv": "B", "b.txt": "B"}
	inA := stream(t, filesA, nil)

	a := startAgent(t, vol, "cats", "push-a")
	a.waitFor(t, proto.MsgInventory)
	// A has its plan and nothing more yet: its connection is slow.
	planEnd := 1024 + (len(mustPlan(t, filesA))+511)/512*512
	_, _ = a.in.Write(inA[:planEnd])

	b := startAgent(t, vol, "cats", "push-b")
	b.waitFor(t, proto.MsgInventory)
	_, _ = b.in.Write(noCommit(stream(t, filesB, nil)))
	b.waitFor(t, proto.MsgVerified)
	_, _ = b.in.Write([]byte(proto.Commit + "\n"))
	b.in.Close()
	if code := <-b.code; code != 0 {
		t.Fatalf("push B: exit %d: %s", code, b.out.String())
	}
	staged := filepath.Join(vol, proto.StagingDir, "cats")
	wantB := map[string]string{"labels.csv": "B", "b.txt": "B"}
	if diff := cmp.Diff(wantB, tree(t, staged)); diff != "" {
		t.Fatalf("right after B's swap (-want +got):\n%s", diff)
	}

	// A's stream goes on, then A commits too.
	_, _ = a.in.Write(inA[planEnd:])
	a.in.Close()
	codeA := <-a.code
	if diff := cmp.Diff(wantB, tree(t, staged)); diff != "" {
		t.Errorf("push A (exit %d) changed the copy push B swapped in (-B's files +staged):\n%s\nA said: %s", codeA, diff, a.out.String())
	}
}

func mustPlan(t *testing.T, files map[string]string) []byte {
	t.Helper()
	plan := proto.Plan{Expected: map[string]string{}}
	for rel, content := range files {
		plan.Expected[rel] = sum([]byte(content))
	}
	b, err := json.Marshal(plan)
	must(t, err)
	return b
}

// TestPlanterRacingTheAgent: while pushes run, a planter with the agent's
// own uid keeps replacing every name the agent touches with links to a
// victim folder, FIFOs and hard links of a victim file. Whatever each push
// ends with, the victim is untouched, no push hangs, and a push that
// reports a swap leaves exactly its files.
func TestPlanterRacingTheAgent(t *testing.T) {
	vol := filepath.Join(t.TempDir(), "vol")
	must(t, os.MkdirAll(vol, 0o755))
	victim := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(victim, "dir", "images"), 0o755))
	must(t, os.WriteFile(filepath.Join(victim, "secret"), []byte("secret"), 0o644))
	must(t, os.WriteFile(filepath.Join(victim, "dir", "images", "1.png"), []byte("victim"), 0o644))
	before := tree(t, victim)
	staging := filepath.Join(vol, proto.StagingDir)
	targets := []string{
		".partial-cats", ".partial-cats/data", ".partial-cats/owner", ".partial-cats/data/images",
		".partial-cats/data/images/1.png", ".partial-cats/data/labels.csv", "cats", "cats/images", "cats/images/1.png",
		".cats.manifest", ".old-cats-1",
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			p := filepath.Join(staging, targets[i%len(targets)])
			// The planter must not walk through its own links (the agent
			// never makes one): only plant under real folders.
			if real, err := filepath.EvalSymlinks(filepath.Dir(p)); err != nil || real != filepath.Dir(p) {
				continue
			}
			tmp := p + ".plant"
			switch i % 3 {
			case 0:
				_ = os.Symlink(filepath.Join(victim, "dir"), tmp)
			case 1:
				_ = syscall.Mkfifo(tmp, 0o666)
			case 2:
				_ = os.Link(filepath.Join(victim, "secret"), tmp)
			}
			// Over whatever is there, unless it is a full folder.
			if os.Rename(tmp, p) != nil {
				_ = os.Remove(tmp)
			}
			time.Sleep(50 * time.Microsecond)
		}
	}()
	files := map[string]string{"labels.csv": "a,b\n", "images/1.png": "png", "images/2.png": "png2"}
	swapped := 0
	for round := range 40 {
		done := make(chan struct{})
		var msgs []proto.Message
		var code int
		go func() {
			defer close(done)
			msgs, code = runAgent(t, vol, stream(t, files, nil), proto.CmdStage, "--table", "cats", "--nonce", fmt.Sprint("n", round))
		}()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			close(stop)
			t.Fatalf("round %d hung", round)
		}
		if code == 0 {
			swapped++
			if last(msgs).T != proto.MsgSwapped {
				t.Errorf("round %d: exit 0 without a swap: %+v", round, msgs)
			}
		}
		if diff := cmp.Diff(before, tree(t, victim)); diff != "" {
			close(stop)
			t.Fatalf("round %d (exit %d) changed the victim (-before +after):\n%s", round, code, diff)
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("%d of 40 pushes swapped under the planter", swapped)
	// With the planter gone, a push must succeed and leave exactly its files.
	msgs, code := runAgent(t, vol, stream(t, files, nil), proto.CmdStage, "--table", "cats", "--nonce", "last")
	if code != 0 {
		t.Fatalf("after the planter: exit %d %+v", code, msgs)
	}
	want := map[string]string{"labels.csv": "a,b\n", "images/": "", "images/1.png": "png", "images/2.png": "png2"}
	if diff := cmp.Diff(want, tree(t, filepath.Join(staging, "cats"))); diff != "" {
		t.Errorf("staged copy after the planter (-want +got):\n%s", diff)
	}
}
