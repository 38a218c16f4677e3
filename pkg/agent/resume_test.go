//go:build linux

package agent

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
)

// cutStream is a stream whose only file, rel, is cut after the first keep
// bytes of its data: a connection that broke mid-file.
func cutStream(t *testing.T, rel string, content []byte, keep int) []byte {
	t.Helper()
	full := stream(t, map[string]string{rel: string(content)}, nil)
	i := bytes.Index(full, content)
	if i < 0 {
		t.Fatal("the file's data is not in the stream")
	}
	return full[:i+keep]
}

// resumeStream continues rel from off: the plan, then one PAX entry with
// the rest of the file.
func resumeStream(t *testing.T, rel string, content []byte, off int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	pj, _ := json.Marshal(proto.Plan{Expected: map[string]string{rel: sum(content)}})
	must(t, tw.WriteHeader(&tar.Header{Name: proto.EntryPlan, Mode: 0o644, Size: int64(len(pj)), Typeflag: tar.TypeReg}))
	_, _ = tw.Write(pj)
	hdr := &tar.Header{Name: proto.EntryData + rel, Mode: 0o644, Size: int64(len(content)) - off, Typeflag: tar.TypeReg,
		PAXRecords: map[string]string{proto.PAXOffset: strconv.FormatInt(off, 10)}}
	must(t, tw.WriteHeader(hdr))
	_, _ = tw.Write(content[off:])
	must(t, tw.Close())
	buf.WriteString(proto.Commit + "\n")
	return buf.Bytes()
}

// inventoryOf runs the agent with nothing after its inventory and returns it.
func inventoryOf(t *testing.T, vol, nonce string) proto.Message {
	t.Helper()
	msgs, _ := runAgent(t, vol, nil, proto.CmdStage, "--table", "cats", "--nonce", nonce)
	if len(msgs) == 0 || msgs[0].T != proto.MsgInventory {
		t.Fatalf("no inventory: %+v", msgs)
	}
	return msgs[0]
}

func bigContent(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// cutOnce cuts a first push of data.bin after keep bytes and returns the
// partial folder.
func cutOnce(t *testing.T, vol string, content []byte, keep int) string {
	t.Helper()
	defer SetCheckpoints(4<<10, 0)()
	if _, code := runAgent(t, vol, cutStream(t, "data.bin", content, keep), proto.CmdStage, "--table", "cats", "--nonce", "n1"); code != proto.KindStream.Code() {
		t.Fatalf("cut stream: exit %d, want %d", code, proto.KindStream.Code())
	}
	return filepath.Join(vol, proto.StagingDir, proto.PartialPrefix+"cats")
}

// TestCutFileContinuesFromItsCheckpoint: a file the stream broke off in is
// reported with its checkpoint by the next push's inventory (another push,
// which takes the partial copy over), and a stream that sends only the
// rest ends in the exact file, checked by its whole SHA-256.
func TestCutFileContinuesFromItsCheckpoint(t *testing.T) {
	vol := t.TempDir()
	content := bigContent(t, 200<<10)
	cutOnce(t, vol, content, 150<<10)
	inv := inventoryOf(t, vol, "n2")
	c := inv.Cut
	if c == nil || c.Rel != "data.bin" || c.Offset < 100<<10 || c.Offset > 150<<10 || c.Sum != sum(content[:c.Offset]) {
		t.Fatalf("inventory cut = %+v, want data.bin checked up to between 100 and 150 KiB", c)
	}
	if _, ok := inv.Partial["data.bin"]; ok {
		t.Error("the cut file is also reported whole in the partial copy")
	}
	msgs, code := runAgent(t, vol, resumeStream(t, "data.bin", content, c.Offset), proto.CmdStage, "--table", "cats", "--nonce", "n2")
	if code != 0 || last(msgs).T != proto.MsgSwapped {
		t.Fatalf("resumed stream: exit %d, %+v", code, msgs)
	}
	got, err := os.ReadFile(filepath.Join(vol, proto.StagingDir, "cats", "data.bin"))
	must(t, err)
	if !bytes.Equal(got, content) {
		t.Fatalf("staged file differs from the original (%d bytes, want %d)", len(got), len(content))
	}
	assertOnlyStaging(t, vol)
}

// TestResumedBytesAreHashedEndToEnd: a rest that does not belong to the
// start on the volume (the local file changed, or the stream lied) fails
// the file's SHA-256: mismatch, nothing swapped.
func TestResumedBytesAreHashedEndToEnd(t *testing.T) {
	vol := t.TempDir()
	content := bigContent(t, 200<<10)
	cutOnce(t, vol, content, 150<<10)
	c := inventoryOf(t, vol, "n2").Cut
	if c == nil {
		t.Fatal("no checkpoint reported")
	}
	other := bytes.Clone(content)
	other[len(other)-1] ^= 1
	// The plan says the original; the rest sent is another file's.
	in := resumeStream(t, "data.bin", content, c.Offset)
	i := bytes.LastIndex(in, content[c.Offset:])
	copy(in[i:], other[c.Offset:])
	msgs, code := runAgent(t, vol, in, proto.CmdStage, "--table", "cats", "--nonce", "n2")
	if code != proto.KindMismatch.Code() {
		t.Fatalf("exit %d, want a mismatch: %+v", code, msgs)
	}
	if _, err := os.Stat(filepath.Join(vol, proto.StagingDir, "cats")); !os.IsNotExist(err) {
		t.Fatalf("a copy was swapped in: %v", err)
	}
}

// TestContinuingWithoutACheckpointIsRefused: an entry that claims to start
// mid-file is taken only where this round's inventory reported that very
// checkpoint.
func TestContinuingWithoutACheckpointIsRefused(t *testing.T) {
	content := bigContent(t, 64<<10)
	for _, tt := range []struct {
		name string
		cut  bool
		off  func(c *proto.Cut) int64
	}{
		{"no cut file", false, func(*proto.Cut) int64 { return 4 << 10 }},
		{"another offset", true, func(c *proto.Cut) int64 { return c.Offset - 4<<10 }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			vol := t.TempDir()
			var c *proto.Cut
			if tt.cut {
				cutOnce(t, vol, content, 40<<10)
				if c = inventoryOf(t, vol, "n2").Cut; c == nil || c.Offset < 8<<10 {
					t.Fatalf("checkpoint %+v", c)
				}
			}
			_, code := runAgent(t, vol, resumeStream(t, "data.bin", content, tt.off(c)), proto.CmdStage, "--table", "cats", "--nonce", "n2")
			if code != proto.KindStream.Code() {
				t.Fatalf("exit %d, want %d (stream refused)", code, proto.KindStream.Code())
			}
			if _, err := os.Stat(filepath.Join(vol, proto.StagingDir, "cats")); !os.IsNotExist(err) {
				t.Fatalf("a copy was swapped in: %v", err)
			}
		})
	}
}

// TestPlantedCheckpointIsNotFollowed: between two pushes, the sidecar or
// the cut file is replaced (a link to a forged checkpoint, another uid's
// checkpoint, another file under the cut file's name). The inventory
// reports no checkpoint, removes the planted name without touching what
// it points to, and the cut file is then hashed whole like any other.
func TestPlantedCheckpointIsNotFollowed(t *testing.T) {
	content := bigContent(t, 200<<10)
	for _, tt := range []struct {
		name  string
		plant func(t *testing.T, partial, sidecar string)
	}{
		{"sidecar is a link", func(t *testing.T, _, sidecar string) {
			forged := filepath.Join(t.TempDir(), "forged")
			b, err := os.ReadFile(sidecar)
			must(t, err)
			must(t, os.WriteFile(forged, b, 0o644))
			must(t, os.Remove(sidecar))
			must(t, os.Symlink(forged, sidecar))
			t.Cleanup(func() {
				if _, err := os.Stat(forged); err != nil {
					t.Errorf("the link's target was touched: %v", err)
				}
			})
		}},
		{"sidecar of another uid", func(t *testing.T, _, sidecar string) {
			must(t, os.Lchown(sidecar, strangerUID, strangerUID))
		}},
		{"sidecar hard-linked", func(t *testing.T, partial, sidecar string) {
			must(t, os.Link(sidecar, filepath.Join(filepath.Dir(filepath.Dir(partial)), "elsewhere")))
		}},
		{"cut file replaced", func(t *testing.T, partial, _ string) {
			files, _ := filepath.Glob(filepath.Join(partial, "data-*", "data.bin"))
			if len(files) != 1 {
				t.Fatalf("cut file: %v", files)
			}
			b, err := os.ReadFile(files[0])
			must(t, err)
			// Kept aside, so that its inode number is not given to the new
			// file.
			must(t, os.Rename(files[0], filepath.Join(t.TempDir(), "aside")))
			must(t, os.WriteFile(files[0], b, 0o644))
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if os.Geteuid() != 0 && tt.name == "sidecar of another uid" {
				t.Skip("chown needs root")
			}
			vol := t.TempDir()
			partial := cutOnce(t, vol, content, 150<<10)
			sidecars, _ := filepath.Glob(filepath.Join(partial, cutPrefix+"*"))
			if len(sidecars) != 1 {
				t.Fatalf("sidecars after the cut: %v, want one", sidecars)
			}
			tt.plant(t, partial, sidecars[0])
			inv := inventoryOf(t, vol, "n1")
			if inv.Cut != nil {
				t.Fatalf("a planted checkpoint was reported: %+v", inv.Cut)
			}
			if _, err := os.Lstat(sidecars[0]); !os.IsNotExist(err) {
				t.Errorf("the planted sidecar is still there: %v", err)
			}
		})
	}
}

// TestBrokenStreamIsCheckpointedToItsLastByte: when the stream breaks
// while the agent lives (the connection dropped, the plugin killed), the
// checkpoint covers every byte that arrived, however long ago the last
// periodic one was.
func TestBrokenStreamIsCheckpointedToItsLastByte(t *testing.T) {
	vol := t.TempDir()
	content := bigContent(t, 200<<10)
	// Periodic checkpoints never come for a file this small.
	defer SetCheckpoints(1<<30, time.Hour)()
	if _, code := runAgent(t, vol, cutStream(t, "data.bin", content, 150<<10+7), proto.CmdStage, "--table", "cats", "--nonce", "n1"); code != proto.KindStream.Code() {
		t.Fatalf("cut stream: exit %d, want %d", code, proto.KindStream.Code())
	}
	c := inventoryOf(t, vol, "n2").Cut
	if c == nil || c.Offset != 150<<10+7 || c.Sum != sum(content[:c.Offset]) {
		t.Fatalf("checkpoint %+v, want data.bin up to byte %d", c, 150<<10+7)
	}
}

// partialCutFile is the partial copy's file data.bin after cutOnce.
func partialCutFile(t *testing.T, partial string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(partial, "data-*", "data.bin"))
	if len(files) != 1 {
		t.Fatalf("cut file: %v", files)
	}
	return files[0]
}

// TestCutFileChangedInPlaceIsNotContinued: someone with the agent's uid
// (another push's stage Pod, a shell in one) rewrites the start of a cut
// file in place, keeping its inode, or cuts it shorter, before the next
// push's inventory or between that inventory and the stream. The agent
// must not vouch for the start from its checkpoint alone: whatever the
// push ends with, a swapped copy holds exactly the user's bytes, and the
// changed file costs at most a whole-file resend (a mismatch, which the
// plugin answers with a round that sends it whole).
func TestCutFileChangedInPlaceIsNotContinued(t *testing.T) {
	content := bigContent(t, 200<<10)
	scribble := func(t *testing.T, path string) {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		must(t, err)
		_, err = f.WriteAt([]byte("FORGED"), 1000)
		must(t, err)
		must(t, f.Close())
	}
	shorten := func(t *testing.T, path string) { must(t, os.Truncate(path, 10<<10)) }
	// The sidecar beside the cut file's folder, rewritten by hand.
	sidecar := func(edit func(c *checkpoint)) func(t *testing.T, path string) {
		return func(t *testing.T, path string) {
			names, _ := filepath.Glob(filepath.Join(filepath.Dir(filepath.Dir(path)), cutPrefix+"*"))
			if len(names) != 1 {
				t.Fatalf("sidecars: %v", names)
			}
			var c checkpoint
			must(t, json.Unmarshal(mustReadFile(t, names[0]), &c))
			edit(&c)
			b, err := json.Marshal(&c)
			must(t, err)
			must(t, os.WriteFile(names[0], b, 0o644))
		}
	}
	// A hash state of other bytes with the same count: still well formed.
	otherState := sidecar(func(c *checkpoint) { c.State[len(c.State)-9-64] ^= 1 })
	beyondEnd := sidecar(func(c *checkpoint) {
		h := sha256.New()
		h.Write(bytes.Repeat([]byte{0}, 300<<10))
		state, err := h.(interface{ MarshalBinary() ([]byte, error) }).MarshalBinary()
		if err != nil {
			panic(err)
		}
		c.Offset, c.State = 300<<10, state
	})
	for _, tt := range []struct {
		name           string
		change         func(t *testing.T, path string)
		afterInventory bool
	}{
		{"start rewritten before the inventory", scribble, false},
		{"start rewritten after the inventory", scribble, true},
		{"cut shorter after the inventory", shorten, true},
		{"cut shorter before the inventory", shorten, false},
		{"checkpoint of other bytes", otherState, false},
		{"checkpoint beyond the file's end", beyondEnd, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			vol := t.TempDir()
			partial := cutOnce(t, vol, content, 150<<10)
			if !tt.afterInventory {
				tt.change(t, partialCutFile(t, partial))
			}
			a := startAgent(t, vol, "cats", "n2")
			a.waitFor(t, proto.MsgInventory)
			var inv proto.Message
			must(t, json.NewDecoder(bytes.NewReader([]byte(a.out.String()))).Decode(&inv))
			if tt.afterInventory {
				// The new push has taken the partial copy over by now.
				tt.change(t, partialCutFile(t, partial))
			}
			// The plugin continues the file only when the agent's digest of
			// its start is the local file's.
			c := inv.Cut
			in := stream(t, map[string]string{"data.bin": string(content)}, nil)
			if c != nil && c.Rel == "data.bin" && c.Sum == sum(content[:c.Offset]) {
				in = resumeStream(t, "data.bin", content, c.Offset)
			} else if !tt.afterInventory && c != nil {
				t.Errorf("the inventory reports a checkpoint of a start that is not on the volume: %+v", c)
			}
			_, _ = a.in.Write(in)
			a.in.Close()
			code := <-a.code
			got, err := os.ReadFile(filepath.Join(vol, proto.StagingDir, "cats", "data.bin"))
			if code == 0 && (err != nil || !bytes.Equal(got, content)) {
				t.Fatalf("exit 0 with a staged data.bin that is not the user's file (%d bytes, %v; first difference at %d)", len(got), err, firstDiff(got, content))
			}
			if code != 0 && code != proto.KindMismatch.Code() {
				t.Fatalf("exit %d, want 0 or a mismatch (answered by a whole resend): %s", code, a.out.String())
			}
			if code != 0 {
				if _, err := os.Stat(filepath.Join(vol, proto.StagingDir, "cats")); !os.IsNotExist(err) {
					t.Fatalf("a copy was swapped in after a mismatch: %v", err)
				}
			}
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestTakeOverOfAFileAnotherPushIsStillWriting: push A continues a cut
// file and is still receiving it, slowly, when push B of the same table
// (another user, the same file with another ending) takes the partial
// copy over. B must not adopt the file A still writes: if it did, A's
// bytes would keep landing in B's file after B verified it, and in the
// staged copy after B's swap. Whatever A does afterwards, the staged copy
// stays exactly B's file.
func TestTakeOverOfAFileAnotherPushIsStillWriting(t *testing.T) {
	vol := t.TempDir()
	contentA := bigContent(t, 400<<10)
	contentB := bytes.Clone(contentA)
	_, _ = rand.Read(contentB[300<<10:])
	partial := cutOnce(t, vol, contentA, 150<<10)
	defer SetCheckpoints(4<<10, 0)()

	a := startAgent(t, vol, "cats", "push-a")
	a.waitFor(t, proto.MsgInventory)
	var inv proto.Message
	must(t, json.NewDecoder(bytes.NewReader([]byte(a.out.String()))).Decode(&inv))
	if inv.Cut == nil || inv.Cut.Sum != sum(contentA[:inv.Cut.Offset]) {
		t.Fatalf("push A is offered no checkpoint to continue: %+v", inv.Cut)
	}
	inA := resumeStream(t, "data.bin", contentA, inv.Cut.Offset)
	// A receives 40 KiB of the rest, then its connection stalls.
	split := bytes.Index(inA, contentA[inv.Cut.Offset:]) + 40<<10
	_, _ = a.in.Write(inA[:split])
	fileA := filepath.Join(partial, "data-"+nonceHash("push-a"), "data.bin")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if fi, err := os.Stat(fileA); err == nil && fi.Size() >= inv.Cut.Offset+40<<10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("push A never wrote its first 40 KiB: %s", a.out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}

	b := startAgent(t, vol, "cats", "push-b")
	b.waitFor(t, proto.MsgInventory)
	var invB proto.Message
	must(t, json.NewDecoder(bytes.NewReader([]byte(b.out.String()))).Decode(&invB))
	inB := stream(t, map[string]string{"data.bin": string(contentB)}, nil)
	if c := invB.Cut; c != nil && c.Rel == "data.bin" && c.Sum == sum(contentB[:c.Offset]) {
		inB = resumeStream(t, "data.bin", contentB, c.Offset)
	}
	_, _ = b.in.Write(noCommit(inB))
	b.waitFor(t, proto.MsgVerified)
	_, _ = b.in.Write([]byte(proto.Commit + "\n"))
	b.in.Close()
	if code := <-b.code; code != 0 {
		t.Fatalf("push B: exit %d: %s", code, b.out.String())
	}
	staged := filepath.Join(vol, proto.StagingDir, "cats", "data.bin")

	// A's connection comes back: the rest of its stream arrives.
	_, _ = a.in.Write(inA[split:])
	a.in.Close()
	codeA := <-a.code
	got, err := os.ReadFile(staged)
	must(t, err)
	if !bytes.Equal(got, contentB) {
		t.Fatalf("push A (exit %d) wrote into the copy push B verified and swapped in: first difference at byte %d of %d", codeA, firstDiff(got, contentB), len(got))
	}
}

func nonceHash(nonce string) string {
	h := sha256.Sum256([]byte(nonce))
	return hex.EncodeToString(h[:8])
}

func mustReadFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	must(t, err)
	return b
}
