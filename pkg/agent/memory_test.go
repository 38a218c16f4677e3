//go:build linux

package agent

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tracebloc/kubectl-tracebloc/internal/heaptest"
	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/agenttest/deeptree"
	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
)

// childEnv makes the test binary run the agent instead of the tests, so
// that a test can measure the agent's peak memory as a process of its own.
const childEnv = "TRACEBLOC_AGENT_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// memoryBound is what the agent may take of the stage Pod's 1Gi at most
// for what a tenant planted.
const memoryBound = 128 << 20

// runChild runs the agent as a process with stdin read from the file in
// and returns its messages, exit code and peak resident memory in bytes.
func runChild(t *testing.T, vol, in string, args ...string) ([]proto.Message, int, int64) {
	t.Helper()
	full := append([]string{args[0], "--root", vol, "--lock", filepath.Join(t.TempDir(), "lock")}, args[1:]...)
	cmd := exec.Command(os.Args[0], full...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	f, err := os.Open(in)
	must(t, err)
	defer f.Close()
	cmd.Stdin = f
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running the agent: %v", err)
	}
	rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10
	var msgs []proto.Message
	dec := json.NewDecoder(&out)
	for dec.More() {
		var m proto.Message
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("agent output: %v: %s", err, out.String())
		}
		msgs = append(msgs, m)
	}
	return msgs, code, rss
}

func writeTemp(t *testing.T, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "stdin")
	must(t, os.WriteFile(p, b, 0o644))
	return p
}

// plantDeepTree plants levels folders of 255-byte names under parent.
func plantDeepTree(t *testing.T, parent string, levels int) {
	t.Helper()
	must(t, deeptree.Plant(parent, levels, -1, -1))
}

// TestPushRemovesADeepTreeInBoundedMemory: a tree of 3 000 levels of
// 255-byte names planted in a table's partial copy is removed by the next
// push, in memory well under the stage Pod's limit. Removing it by full
// paths took 1.0 GB at 2 000 levels, and the table could not be pushed.
func TestPushRemovesADeepTreeInBoundedMemory(t *testing.T) {
	vol := t.TempDir()
	old := filepath.Join(vol, proto.StagingDir, ".partial-cats", "data-0123456789abcdef", "images")
	must(t, os.MkdirAll(old, 0o755))
	plantDeepTree(t, old, 3000)
	msgs, code, rss := runChild(t, vol, writeTemp(t, stream(t, map[string]string{"labels.csv": "a", "images/1.png": "p"}, nil)),
		proto.CmdStage, "--table", "cats", "--nonce", "n")
	t.Logf("peak memory of the agent removing a 3000-level tree: %.1f MiB", float64(rss)/(1<<20))
	if code != 0 || last(msgs).T != proto.MsgSwapped {
		t.Fatalf("push: exit %d, %+v", code, last(msgs))
	}
	if _, err := os.Lstat(filepath.Join(vol, proto.StagingDir, ".partial-cats")); !os.IsNotExist(err) {
		t.Errorf("the partial copy with the deep tree is still there (%v)", err)
	}
	if rss > memoryBound {
		t.Errorf("peak memory %d MiB, bound %d MiB", rss>>20, memoryBound>>20)
	}
}

// TestRemoveDeepTreeKeepsOnlyItsOwnLevels: the tree's removal goes back up
// through ".." past the levels it keeps open; a tree deeper than those is
// removed whole, and the folder beside it stays.
func TestRemoveDeepTreeKeepsOnlyItsOwnLevels(t *testing.T) {
	vol := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(vol, "a"), 0o755))
	must(t, os.MkdirAll(filepath.Join(vol, "keep"), 0o755))
	must(t, os.WriteFile(filepath.Join(vol, "keep", "x"), []byte("x"), 0o644))
	plantDeepTree(t, filepath.Join(vol, "a"), 3*openLevels+5)
	// Width as well as depth: many names in one folder, read in batches.
	wide := filepath.Join(vol, "a", "wide")
	must(t, os.MkdirAll(wide, 0o755))
	for i := range 500 {
		must(t, os.MkdirAll(filepath.Join(wide, fmt.Sprint(i), "sub"), 0o755))
	}
	d, err := openRoot(vol)
	must(t, err)
	defer d.close()
	must(t, d.removeAll("a"))
	if _, err := os.Lstat(filepath.Join(vol, "a")); !os.IsNotExist(err) {
		t.Errorf("the tree is still there: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(vol, "keep", "x")); err != nil || string(b) != "x" {
		t.Errorf("the folder beside the tree changed: %q %v", b, err)
	}
}

// writeBig writes size bytes to path: head, then line repeated.
func writeBig(t *testing.T, path, head string, line func(i int) string, tail string, size int64) {
	t.Helper()
	f, err := os.Create(path)
	must(t, err)
	w := bufio.NewWriterSize(f, 1<<20)
	n, _ := w.WriteString(head)
	written := int64(n)
	for i := 0; written < size-int64(len(tail)); i++ {
		n, _ := w.WriteString(line(i))
		written += int64(n)
	}
	_, _ = w.WriteString(tail)
	must(t, w.Flush())
	must(t, f.Close())
}

// TestPlantedManifestInBoundedMemory: a manifest planted beside a staged
// copy, 250 MiB (under the byte cap) of tiny entries, or one line of that
// size, is read in memory that does not grow with it. As one JSON object
// it took 3.5 GB.
func TestPlantedManifestInBoundedMemory(t *testing.T) {
	const size = 250 << 20
	for _, tt := range []struct {
		name       string
		head, tail string
		line       func(i int) string
	}{
		{"a JSON object of tiny entries", "{", `"end":{}}`, func(i int) string { return fmt.Sprintf(`"%x":{},`, i) }},
		{"lines of tiny entries", manifestHeader + "\n", "", func(i int) string {
			return strings.Repeat("0", 64) + fmt.Sprintf(" 1 1 1 1 %x\n", i)
		}},
		{"one line", manifestHeader + "\n", "\n", func(int) string { return strings.Repeat("z", 4096) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			vol := t.TempDir()
			files := map[string]string{"labels.csv": "a", "images/1.png": "p"}
			if _, code := runAgent(t, vol, stream(t, files, nil), proto.CmdStage, "--table", "cats", "--nonce", "n1"); code != 0 {
				t.Fatalf("first push: exit %d", code)
			}
			writeBig(t, filepath.Join(vol, proto.StagingDir, ".cats.manifest"), tt.head, tt.line, tt.tail, size)
			msgs, code, rss := runChild(t, vol, writeTemp(t, stream(t, files, nil)), proto.CmdStage, "--table", "cats", "--nonce", "n2")
			t.Logf("peak memory of the agent reading a 250 MiB planted manifest (%s): %.1f MiB", tt.name, float64(rss)/(1<<20))
			if code != 0 || last(msgs).T != proto.MsgSwapped {
				t.Fatalf("push: exit %d, %+v", code, last(msgs))
			}
			if len(msgs[0].Staged) != 2 {
				t.Errorf("the inventory lists %d staged files, want 2 (hashed, the manifest ignored)", len(msgs[0].Staged))
			}
			if rss > memoryBound {
				t.Errorf("peak memory %d MiB, bound %d MiB", rss>>20, memoryBound>>20)
			}
		})
	}
}

// TestCommitLineIsBounded: 300 MB without a newline where the commit line
// belongs is not read into memory: the push stops unswapped.
func TestCommitLineIsBounded(t *testing.T) {
	vol := t.TempDir()
	in := filepath.Join(t.TempDir(), "stdin")
	tarPart := noCommit(stream(t, map[string]string{"labels.csv": "a"}, nil))
	writeBig(t, in, string(tarPart), func(int) string { return strings.Repeat("c", 1<<16) }, "", 300<<20)
	msgs, code, rss := runChild(t, vol, in, proto.CmdStage, "--table", "cats", "--nonce", "n")
	t.Logf("peak memory of the agent given 300 MB for its commit line: %.1f MiB", float64(rss)/(1<<20))
	if code != proto.KindAborted.Code() {
		t.Errorf("exit %d, %+v: want aborted", code, last(msgs))
	}
	if rss > memoryBound {
		t.Errorf("peak memory %d MiB, bound %d MiB", rss>>20, memoryBound>>20)
	}
}

// TestPlanIsDecodedWithAnEntryCap: the plan is read entry by entry into
// sorted compact records, past the cap it is refused (naming the fix), and
// below it holds what the plain JSON decoder reads.
func TestPlanIsDecodedWithAnEntryCap(t *testing.T) {
	plan := proto.Plan{Expected: map[string]string{"labels.csv": sum([]byte("a")), "images/1.png": "", "images/2.png": sum([]byte("b"))},
		Reuse: []string{"images/2.png"}}
	b, err := json.Marshal(plan)
	must(t, err)
	got, err := decodePlan(bytes.NewReader(b))
	must(t, err)
	back := proto.Plan{Expected: map[string]string{}}
	for _, f := range got.files {
		back.Expected[f.rel] = ""
		if !f.open {
			back.Expected[f.rel] = f.want.hex()
		}
		if f.reuse {
			back.Reuse = append(back.Reuse, f.rel)
		}
	}
	if !cmp.Equal(plan, back) {
		t.Errorf("decoded %+v, want %+v", back, plan)
	}
	if got.findRel("images/2.png") < 0 || got.findRel("images/3.png") >= 0 || got.findRel("labels.csv") < 0 {
		t.Errorf("lookups in the decoded plan are wrong: %+v", got.files)
	}
	n := 0
	err = decodeSums(json.NewDecoder(strings.NewReader(`{"a":"","b":"","c":"","d":""}`)), 3, func(string, string) error { n++; return nil })
	if err == nil || !strings.Contains(err.Error(), "more than 3 files") || n > 3 {
		t.Errorf("past the cap: %v, %d entries kept", err, n)
	}
	for _, bad := range []string{`[]`, `{"expected":[]}`, `{"expected":{"a":1}}`, `{"reuse":{}}`, `{"expected":{}`,
		`{"expected":{"a":"","a":""}}`, `{"expected":{"../a":""}}`, `{"expected":{"a":"abc"}}`} {
		if _, err := decodePlan(strings.NewReader(bad)); err == nil {
			t.Errorf("plan %s was accepted", bad)
		}
	}
}

// heapBytesPerFile bounds what a stage round keeps on the heap per file of
// the push at its peak: a million files must fit in 512 MiB, half the stage
// Pod's 1Gi. Maps of hex strings kept 727 bytes a file (1.66 GB of
// resident memory for a million); the compact records keep about 420.
const heapBytesPerFile = 512

// TestStageHeapPerFile: a first push of 50 000 files (plan, stream,
// verify, manifest) keeps at most heapBytesPerFile a file on the heap at
// its peak, sampled with the collector running often so that the peak is
// what is live.
func TestStageHeapPerFile(t *testing.T) {
	const n = 50000
	files := make(map[string]string, n+1)
	for i := range n {
		files[fmt.Sprintf("texts/r%06d.txt", i)] = fmt.Sprint(i)
	}
	files["labels.csv"] = "filename,label\n"
	in := stream(t, files, nil)
	clear(files)
	vol := t.TempDir()
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	var msgs []proto.Message
	var code int
	peak := heaptest.PeakAbove(heaptest.HeapObjects, func() {
		msgs, code = runAgent(t, vol, in, proto.CmdStage, "--table", "texts", "--nonce", "n")
	})
	if code != 0 || last(msgs).T != proto.MsgSwapped {
		t.Fatalf("push: exit %d, %+v", code, last(msgs))
	}
	per := peak / n
	t.Logf("heap at its peak: %d bytes a file over %d files", per, n)
	if per > heapBytesPerFile {
		t.Errorf("a stage round kept %d bytes a file on the heap, bound %d: a million files would not fit the stage Pod", per, heapBytesPerFile)
	}
}
