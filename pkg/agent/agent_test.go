//go:build linux

package agent

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
)

// runAgent runs the agent in-process and returns its messages and exit code.
func runAgent(t testing.TB, vol string, stdin []byte, args ...string) ([]proto.Message, int) {
	t.Helper()
	var out, errb bytes.Buffer
	full := append([]string{args[0], "--root", vol, "--lock", filepath.Join(t.TempDir(), "lock")}, args[1:]...)
	code := Main(full, bytes.NewReader(stdin), &out, &errb)
	var msgs []proto.Message
	dec := json.NewDecoder(&out)
	for dec.More() {
		var m proto.Message
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("agent output: %v: %s", err, out.String())
		}
		msgs = append(msgs, m)
	}
	return msgs, code
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// stream builds what the plugin sends: the plan, the files, the commit.
func stream(t testing.TB, files map[string]string, extra func(tw *tar.Writer)) []byte {
	t.Helper()
	plan := proto.Plan{Expected: map[string]string{}}
	for rel, content := range files {
		plan.Expected[rel] = sum([]byte(content))
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	pj, _ := json.Marshal(plan)
	write := func(name string, data []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		_, _ = tw.Write(data)
	}
	write(proto.EntryPlan, pj)
	rels := make([]string, 0, len(files))
	for rel := range files {
		rels = append(rels, rel)
	}
	sort.Strings(rels)
	for _, rel := range rels {
		write(proto.EntryData+rel, []byte(files[rel]))
	}
	if extra != nil {
		extra(tw)
	}
	_ = tw.Close()
	buf.WriteString(proto.Commit + "\n")
	return buf.Bytes()
}

func last(msgs []proto.Message) proto.Message {
	if len(msgs) == 0 {
		return proto.Message{}
	}
	return msgs[len(msgs)-1]
}

func TestStageListAndRemove(t *testing.T) {
	vol := t.TempDir()
	msgs, code := runAgent(t, vol, stream(t, map[string]string{"labels.csv": "a,b\n", "images/x.png": "png"}, nil),
		proto.CmdStage, "--table", "cats", "--nonce", "n1")
	if code != 0 || last(msgs).T != proto.MsgSwapped || last(msgs).Files != 2 {
		t.Fatalf("stage: exit %d, %+v", code, msgs)
	}
	staging := filepath.Join(vol, proto.StagingDir)
	must(t, os.MkdirAll(filepath.Join(staging, ".partial-dogs", "data"), 0o755))
	must(t, os.Rename(filepath.Join(staging, "cats"), filepath.Join(staging, ".old-cats-abc")))
	msgs, code = runAgent(t, vol, nil, proto.CmdList)
	if code != 0 {
		t.Fatalf("list: exit %d %+v", code, msgs)
	}
	sort.Strings(msgs[0].Leftovers)
	if diff := cmp.Diff([]string{".old-cats-abc", ".partial-dogs"}, msgs[0].Leftovers); diff != "" || len(msgs[0].Tables) != 0 {
		t.Errorf("list: tables %v, leftovers (-want +got):\n%s", msgs[0].Tables, diff)
	}
	// The set-aside copy is the table's only copy: remove puts it back.
	msgs, code = runAgent(t, vol, nil, proto.CmdRemove, ".old-cats-abc", ".partial-dogs")
	if code != 0 || len(last(msgs).Notes) != 1 {
		t.Fatalf("remove: exit %d %+v", code, msgs)
	}
	msgs, _ = runAgent(t, vol, nil, proto.CmdList)
	want := []proto.Table{{Name: "cats", Files: 2, Bytes: 7}}
	got := msgs[0].Tables
	for i := range got {
		got[i].Modified = 0
	}
	if diff := cmp.Diff(want, got); diff != "" || len(msgs[0].Leftovers) != 0 {
		t.Errorf("after remove: leftovers %v, tables (-want +got):\n%s", msgs[0].Leftovers, diff)
	}
	// Only leftovers can be named; staged tables only with --staged.
	for _, bad := range []string{"cats", "../x", ".partial-../../etc", "/etc"} {
		if _, code := runAgent(t, vol, nil, proto.CmdRemove, bad); code != proto.KindUsage.Code() {
			t.Errorf("remove %q: exit %d, want usage", bad, code)
		}
	}
	if _, code := runAgent(t, vol, nil, proto.CmdRemove, "--staged", "cats"); code != 0 {
		t.Fatalf("remove --staged: exit %d", code)
	}
	if _, err := os.Stat(filepath.Join(staging, "cats")); !os.IsNotExist(err) {
		t.Errorf("the staged copy is still there: %v", err)
	}
}

func TestStageRefusesAStreamOutsideThePlan(t *testing.T) {
	for _, tt := range []struct {
		name  string
		extra func(tw *tar.Writer)
	}{
		{"a name the plan does not list", func(tw *tar.Writer) {
			_ = tw.WriteHeader(&tar.Header{Name: "data/images/other.png", Size: 1, Typeflag: tar.TypeReg})
			_, _ = tw.Write([]byte("x"))
		}},
		{"a name that climbs out", func(tw *tar.Writer) {
			_ = tw.WriteHeader(&tar.Header{Name: "data/../../escape", Size: 1, Typeflag: tar.TypeReg})
			_, _ = tw.Write([]byte("x"))
		}},
		{"a link entry", func(tw *tar.Writer) {
			_ = tw.WriteHeader(&tar.Header{Name: "data/labels.csv", Linkname: "/etc/passwd", Typeflag: tar.TypeSymlink})
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			vol := t.TempDir()
			msgs, code := runAgent(t, vol, stream(t, map[string]string{"labels.csv": "a"}, tt.extra), proto.CmdStage, "--table", "cats", "--nonce", "n")
			if code != proto.KindStream.Code() || last(msgs).Kind != proto.KindStream {
				t.Fatalf("exit %d, %+v; want a stream failure", code, msgs)
			}
			if _, err := os.Stat(filepath.Join(vol, proto.StagingDir, "cats")); !os.IsNotExist(err) {
				t.Errorf("a staged copy was made: %v", err)
			}
			assertOnlyStaging(t, vol)
		})
	}
}

// assertOnlyStaging fails when anything but the staging folder exists on
// the volume, or anything outside the volume's parent was touched.
func assertOnlyStaging(t *testing.T, vol string) {
	t.Helper()
	entries, err := os.ReadDir(vol)
	must(t, err)
	for _, e := range entries {
		if e.Name() != proto.StagingDir {
			t.Errorf("the agent wrote %s on the volume", e.Name())
		}
	}
	_ = filepath.Walk(filepath.Dir(vol), func(p string, info os.FileInfo, err error) error {
		if err == nil && strings.Contains(p, "escape") {
			t.Errorf("a file escaped: %s", p)
		}
		return nil
	})
}

// TestClaimedPartialIsNotSwapped: another push takes the partial copy over
// while this one waits for its commit (its claim renames this push's data
// folder away), so this push must not swap. A nonce that differs only in
// spaces is another push.
func TestClaimedPartialIsNotSwapped(t *testing.T) {
	for _, tt := range []struct{ mine, theirs string }{{"mine", "theirs"}, {"push", " push "}} {
		t.Run(tt.mine+"/"+tt.theirs, func(t *testing.T) {
			vol := t.TempDir()
			a := startAgent(t, vol, "cats", tt.mine)
			a.waitFor(t, proto.MsgInventory)
			_, _ = a.in.Write(noCommit(stream(t, map[string]string{"labels.csv": "a"}, nil)))
			a.waitFor(t, proto.MsgVerified)
			b := startAgent(t, vol, "cats", tt.theirs)
			b.waitFor(t, proto.MsgInventory)
			_, _ = a.in.Write([]byte(proto.Commit + "\n"))
			a.in.Close()
			if code := <-a.code; code != proto.KindClaimed.Code() {
				t.Fatalf("exit %d, want claimed (%d): %s", code, proto.KindClaimed.Code(), a.out.String())
			}
			if _, err := os.Stat(filepath.Join(vol, proto.StagingDir, "cats")); !os.IsNotExist(err) {
				t.Errorf("the claimed copy was swapped in: %v", err)
			}
		})
	}
}

func TestProbeChecksItsOwnHash(t *testing.T) {
	msgs, code := runAgent(t, t.TempDir(), nil, proto.CmdProbe, "--sha256", strings.Repeat("0", 64))
	if code != proto.KindStream.Code() || !strings.Contains(last(msgs).Msg, "damaged") {
		t.Fatalf("exit %d %+v, want a damaged-agent failure", code, msgs)
	}
	self, err := hashPath("/proc/self/exe")
	must(t, err)
	msgs, code = runAgent(t, t.TempDir(), nil, proto.CmdProbe, "--sha256", self)
	if code != 0 || msgs[0].T != proto.MsgProbe || msgs[0].Version != proto.Version {
		t.Fatalf("exit %d %+v", code, msgs)
	}
}

// TestExclusiveStopsAnEarlierAgent: a retry in the same Pod must not run
// beside an earlier round that still lives.
func TestExclusiveStopsAnEarlierAgent(t *testing.T) {
	lock := filepath.Join(t.TempDir(), "agent.lock")
	// The earlier round: a process that holds the lock and names itself.
	holder := exec.Command("sh", "-c", `exec 9>"$1"; flock 9; echo $$ >&9; exec sleep 60`, "sh", lock)
	if _, err := exec.LookPath("flock"); err != nil {
		t.Fatalf("flock(1) is needed for this test (util-linux): %v", err)
	}
	must(t, holder.Start())
	defer func() { _ = holder.Process.Kill() }()
	waited := make(chan error, 1)
	go func() { waited <- holder.Wait() }()
	for i := 0; i < 100; i++ {
		if b, _ := os.ReadFile(lock); len(b) > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	release, err := exclusive(lock)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		t.Fatal("the earlier agent still runs")
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// FuzzStreamNames feeds the agent tar entries with hostile names: whatever
// they hold, nothing is written outside the staging folder.
func FuzzStreamNames(f *testing.F) {
	for _, s := range []string{"data/labels.csv", "data/../x", "data/images/../../escape", "/escape", "data//a", "data/a/b/c", "data/\x00", "plan.json", "interrupted"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		vol := filepath.Join(t.TempDir(), "vol")
		must(t, os.MkdirAll(vol, 0o755))
		in := stream(t, map[string]string{"labels.csv": "a"}, func(tw *tar.Writer) {
			_ = tw.WriteHeader(&tar.Header{Name: name, Size: 6, Typeflag: tar.TypeReg})
			_, _ = tw.Write([]byte("escape"))
		})
		_, _ = runAgent(t, vol, in, proto.CmdStage, "--table", "cats", "--nonce", "n")
		assertOnlyStaging(t, vol)
	})
}

// A plan may leave a file's hash open; the stream then gives it after the
// files. The copy is swapped only once every hash is given, once, and
// matches the file as written.
func TestStageHashesGivenAfterTheFiles(t *testing.T) {
	files := map[string]string{"labels.csv": "filename,label\n", "images/a.png": "pixels"}
	good := `{"images/a.png":"` + sum([]byte("pixels")) + `"}`
	tests := []struct {
		name string
		sums []string // EntrySums bodies, in order
		kind proto.Kind
		says string // part of the failure's message, when set
	}{
		{"given", []string{good}, "", ""},
		{"given in two entries", []string{`{}`, good}, "", ""},
		{"never given", nil, proto.KindStream, ""},
		{"given twice", []string{good, good}, proto.KindStream, ""},
		{"given for a file whose hash the plan holds", []string{good[:len(good)-1] + `,"labels.csv":"` + sum([]byte("filename,label\n")) + `"}`}, proto.KindStream, ""},
		{"given for a file the plan does not list", []string{`{"images/b.png":"` + sum([]byte("x")) + `"}`}, proto.KindStream, ""},
		{"malformed", []string{`{"images/a.png":"abc"}`}, proto.KindStream, `malformed hash for "images/a.png"`},
		{"damaged on the way", []string{`{"images/a.png":"` + "\xff" + sum([]byte("pixels"))[1:] + `"}`}, proto.KindStream, `malformed hash for "images/a.png"`},
		// Damage that keeps the length is a mismatch: the next round resends.
		{"not hex", []string{`{"images/a.png":"` + strings.Repeat("z", 64) + `"}`}, proto.KindMismatch, ""},
		{"not JSON", []string{`{"images/a.png":`}, proto.KindStream, ""},
		{"the wrong hash", []string{`{"images/a.png":"` + sum([]byte("other")) + `"}`}, proto.KindMismatch, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := stream(t, files, func(tw *tar.Writer) {
				for _, body := range tt.sums {
					if err := tw.WriteHeader(&tar.Header{Name: proto.EntrySums, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
						t.Fatal(err)
					}
					_, _ = tw.Write([]byte(body))
				}
			})
			// Leave the image's hash open in the plan.
			in = bytes.Replace(in, []byte(`"images/a.png":"`+sum([]byte("pixels"))+`"`), []byte(`"images/a.png":""`+strings.Repeat(" ", 64)), 1)
			vol := t.TempDir()
			msgs, code := runAgent(t, vol, in, proto.CmdStage, "--table", "cats", "--nonce", "n")
			staged := filepath.Join(vol, proto.StagingDir, "cats")
			if tt.kind == "" {
				if code != 0 || last(msgs).T != proto.MsgSwapped {
					t.Fatalf("exit %d, %+v; want the copy swapped", code, msgs)
				}
				if got, err := os.ReadFile(filepath.Join(staged, "images", "a.png")); err != nil || string(got) != "pixels" {
					t.Errorf("staged a.png = %q, %v", got, err)
				}
				return
			}
			if code != tt.kind.Code() || last(msgs).Kind != tt.kind {
				t.Fatalf("exit %d, %+v; want a %s failure", code, msgs, tt.kind)
			}
			if !strings.Contains(last(msgs).Msg, tt.says) {
				t.Errorf("failure says %q, want it to say %q", last(msgs).Msg, tt.says)
			}
			if _, err := os.Stat(staged); !os.IsNotExist(err) {
				t.Errorf("a staged copy was made: %v", err)
			}
		})
	}
}
