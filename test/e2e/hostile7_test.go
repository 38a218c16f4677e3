//go:build e2e

package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/internal/outputschema"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
	"github.com/tracebloc/kubectl-tracebloc/pkg/naming"
	"github.com/tracebloc/kubectl-tracebloc/pkg/verify"
)

// strangerUID owns what another tenant of the volume plants.
const strangerUID = 4242

// runPluginWithin is runPlugin with a deadline: a verify that blocks (on a
// FIFO, a lock) ends the test run with that message instead of hanging it
// until go test's own timeout.
func runPluginWithin(t *testing.T, d time.Duration, args ...string) result {
	t.Helper()
	watchdog := time.AfterFunc(d, func() { panic(fmt.Sprintf("%v did not end within %s", args, d)) })
	defer watchdog.Stop()
	return runPlugin(t, nil, args...)
}

// hostTree describes every entry under root on this host, down to its
// type, size, times and inode, without following links: any write shows.
func hostTree(t *testing.T, root string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return err
		}
		lines = append(lines, fmt.Sprintf("%q %o %d %d %d %d %d", p, st.Mode, st.Size, st.Mtim.Nano(), st.Ctim.Nano(), st.Ino, st.Nlink))
		return nil
	})
	must(t, err)
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestVerifyOnAHostileVolume: after a push, another tenant plants in the
// staged copy what it can (links to files, folders, outside the volume and
// to themselves, a FIFO, a socket, a device node, a hard link to its own
// file, names that are not UTF-8 or hold a newline, a 250-byte name), and
// rewrites one image at the same size behind a manifest of its own that
// gives the old hash. verify must end, exit 10 with each planted entry and
// the rewritten image named, never call the copy equal, open nothing it
// did not expect and change nothing on the volume. Then the staged copy
// itself is replaced by a link to an exact copy: verify must not follow it.
func TestVerifyOnAHostileVolume(t *testing.T) {
	const table = "e2e_verify_hostile"
	dir, _ := stagedTable(t, table)
	vol := sharedVolume(t)
	staging := filepath.Join(vol, ".tracebloc-staging")
	copyDir := filepath.Join(staging, table)
	images := filepath.Join(copyDir, "images")
	foreign := filepath.Join(vol, "e2e_verify_foreign")
	t.Cleanup(func() { _ = os.RemoveAll(foreign) })
	must(t, os.MkdirAll(foreign, 0o755))
	must(t, os.WriteFile(filepath.Join(foreign, "secret.jpg"), []byte("not yours"), 0o644))
	must(t, os.Lchown(filepath.Join(foreign, "secret.jpg"), strangerUID, strangerUID))

	must(t, os.Symlink("/etc/passwd", filepath.Join(images, "link_out.jpg")))
	must(t, os.Symlink("../labels.csv", filepath.Join(images, "link_in.jpg")))
	must(t, os.Symlink("/", filepath.Join(images, "link_dir")))
	must(t, os.Symlink("loop.jpg", filepath.Join(images, "loop.jpg")))
	must(t, syscall.Mkfifo(filepath.Join(images, "fifo.jpg"), 0o666))
	sock, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	must(t, err)
	must(t, syscall.Bind(sock, &syscall.SockaddrUnix{Name: filepath.Join(images, "sock.jpg")}))
	_ = syscall.Close(sock)
	must(t, syscall.Mknod(filepath.Join(images, "dev.jpg"), syscall.S_IFCHR|0o666, 1<<8|3))
	must(t, os.Link(filepath.Join(foreign, "secret.jpg"), filepath.Join(images, "hard.jpg")))
	must(t, os.WriteFile(filepath.Join(images, "bad\xffname.jpg"), []byte("x"), 0o644))
	must(t, os.WriteFile(filepath.Join(images, "new\nline.jpg"), []byte("x"), 0o644))
	long := strings.Repeat("l", 246) + ".jpg"
	must(t, os.WriteFile(filepath.Join(images, long), []byte("x"), 0o644))

	// One image rewritten at the same size, its mtime put back, and a
	// manifest of another uid that vouches for the old hash at the new stat.
	entries, err := os.ReadDir(filepath.Join(dir, "images"))
	must(t, err)
	victim := "images/" + entries[0].Name()
	staged := filepath.Join(copyDir, victim)
	old := mustRead(t, staged)
	fi, err := os.Stat(staged)
	must(t, err)
	forged := bytes.Clone(old)
	forged[len(forged)/2] ^= 0xff
	must(t, os.WriteFile(staged, forged, 0o644))
	must(t, os.Chtimes(staged, fi.ModTime(), fi.ModTime()))
	var st syscall.Stat_t
	must(t, syscall.Stat(staged, &st))
	manifest := filepath.Join(staging, "."+table+".manifest")
	body := mustRead(t, manifest)
	oldSum := sha256.Sum256(old)
	var out []string
	for _, line := range strings.Split(strings.TrimRight(string(body), "\n"), "\n") {
		if strings.HasSuffix(line, " "+victim) {
			line = fmt.Sprintf("%s %d %d %d %d %s", hex.EncodeToString(oldSum[:]), st.Size, st.Mtim.Nano(), st.Ctim.Nano(), st.Ino, victim)
		}
		out = append(out, line)
	}
	must(t, os.Remove(manifest))
	must(t, os.WriteFile(manifest, []byte(strings.Join(out, "\n")+"\n"), 0o644))
	must(t, os.Lchown(manifest, strangerUID, strangerUID))

	before := hostTree(t, vol+"/.tracebloc-staging") + hostTree(t, foreign)
	var rep verify.Report
	r := runPluginWithin(t, 3*time.Minute, "verify", dir, "--table", table, "-n", ns, "-o", "json")
	checkJSON(t, "verify", r, &rep)
	if r.code != 10 || rep.Equal {
		t.Fatalf("want exit 10, not equal:\n%s", r)
	}
	odd := map[string]string{}
	for _, o := range rep.Odd {
		odd[o.Path] = o.What
	}
	for _, name := range []string{"link_out.jpg", "link_in.jpg", "link_dir", "loop.jpg", "fifo.jpg", "sock.jpg", "dev.jpg"} {
		if _, ok := odd["images/"+name]; !ok {
			t.Errorf("images/%s is not named as odd: %v", name, odd)
		}
	}
	for _, name := range []string{`"images/bad\xffname.jpg"`, `"images/new\nline.jpg"`} {
		if _, ok := odd[name]; !ok {
			t.Errorf("%s is not named as odd: %v", name, odd)
		}
	}
	extra := map[string]bool{}
	for _, f := range rep.Extra {
		extra[f.Path] = true
	}
	if !extra["images/hard.jpg"] || !extra["images/"+long] || len(rep.Extra) != 2 {
		t.Errorf("extra %+v, want images/hard.jpg and the long name", rep.Extra)
	}
	if len(rep.Changed) != 1 || rep.Changed[0].Path != victim || len(rep.Missing) != 0 {
		t.Errorf("changed %+v, missing %+v: want only %s changed (rewritten behind a manifest another uid planted)", rep.Changed, rep.Missing, victim)
	}
	if after := hostTree(t, vol+"/.tracebloc-staging") + hostTree(t, foreign); after != before {
		t.Errorf("verify changed the volume:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if pods := podNames(t, ns, naming.AnyPodSelector); len(pods) > 0 {
		t.Errorf("pods left behind: %v", pods)
	}

	t.Run("staged copy is a link", func(t *testing.T) {
		// An exact copy of the dataset, reached through a link where the
		// staged copy goes: equal bytes, but not the push's copy.
		real := filepath.Join(vol, "e2e_verify_real")
		t.Cleanup(func() { _ = os.RemoveAll(real) })
		must(t, os.RemoveAll(copyDir))
		must(t, os.RemoveAll(manifest))
		must(t, os.CopyFS(real, os.DirFS(dir)))
		must(t, os.Symlink("../e2e_verify_real", copyDir))
		r := runPluginWithin(t, 3*time.Minute, "verify", dir, "--table", table, "-n", ns, "-o", "json")
		var rep verify.Report
		checkJSON(t, "verify", r, &rep)
		if r.code == 0 || rep.Equal || !strings.Contains(rep.Error, "symbolic link") {
			t.Errorf("want a failure naming the link, not equal:\n%s", r)
		}
		t.Logf("exit %d: %s", r.code, rep.Error)
		if pods := podNames(t, ns, naming.AnyPodSelector); len(pods) > 0 {
			t.Errorf("pods left behind: %v", pods)
		}
	})
}

// TestResumeOfACutFileChangedOnTheVolume: a push of a CSV is cut past
// half way; before the next push, someone with the stage Pod's uid flips
// one byte near the start of the cut file on the volume, in place (its
// inode, size and the agent's checkpoint untouched). The next push must
// stage exactly the local file, at the cost of at most one whole-file
// resend: before the fix it continued from the checkpoint and staged the
// flipped byte, reporting success.
func TestResumeOfACutFileChangedOnTheVolume(t *testing.T) {
	const table = "e2e_resume_tampered"
	removeStaged(t, table)
	dir, csv, size := salesCSV(t, 32e6, 7)
	flags := []string{"--task", "tabular_classification", "--compress", "never", "--bwlimit", "8M"}
	if r := cutPush(t, dir, table, 50, flags...); r.code != 7 {
		t.Fatalf("cut push: exit %d, want 7:\n%s", r.code, r)
	}
	cut, _ := filepath.Glob(filepath.Join(sharedVolume(t), ".tracebloc-staging", ".partial-"+table, "data-*", "labels.csv"))
	if len(cut) != 1 {
		t.Fatalf("the cut file on the volume: %v", cut)
	}
	f, err := os.OpenFile(cut[0], os.O_RDWR, 0)
	must(t, err)
	b := make([]byte, 1)
	_, err = f.ReadAt(b, 1000)
	must(t, err)
	b[0] ^= 0x01
	_, err = f.WriteAt(b, 1000)
	must(t, err)
	must(t, f.Close())

	r, c := pushCounts(t, dir, table, flags...)
	if r.code != 0 {
		t.Fatalf("push after the change:\n%s", r)
	}
	assertStagedCSV(t, csv, table)
	tr := c.Transfer
	t.Logf("resumed %d, sent %d of %d bytes (wire %d)", tr.ResumedBytes, tr.SentBytes, size, tr.WireBytes)
	if tr.SentBytes > size {
		t.Errorf("sent %d bytes of a %d-byte file: more than one whole resend", tr.SentBytes, size)
	}
	assertNoStagePodsOf(t, table)
}

// TestTwoVerifiesAndAPushOfOneTable: two users verify a table, again and
// again, while a third pushes a new version of it. Neither verify blocks
// or breaks the push, each ends with 0 or 10 and a valid object, and
// once the push is done the staged copy is exactly the new version: a
// verify of it is equal, one of the old version is not.
func TestTwoVerifiesAndAPushOfOneTable(t *testing.T) {
	const table = "e2e_verify_race"
	removeStaged(t, table)
	oldDir := filepath.Join(t.TempDir(), "old")
	if err := fixture.Write(oldDir, fixture.Options{Images: 400, Width: 96, Height: 96, Ext: ".png", Noise: true}); err != nil {
		t.Fatal(err)
	}
	if r := runPlugin(t, nil, "push", oldDir, "--table", table, "-n", ns); r.code != 0 {
		t.Fatalf("first push:\n%s", r)
	}
	newDir := filepath.Join(t.TempDir(), "new")
	must(t, os.CopyFS(newDir, os.DirFS(oldDir)))
	entries, err := os.ReadDir(filepath.Join(newDir, "images"))
	must(t, err)
	// A third of the images take the next one's content: still images,
	// other bytes.
	for i := 0; i+1 < len(entries); i += 3 {
		next := mustRead(t, filepath.Join(oldDir, "images", entries[i+1].Name()))
		must(t, os.WriteFile(filepath.Join(newDir, "images", entries[i].Name()), next, 0o644))
	}

	stop := make(chan struct{})
	type run struct {
		code        int
		out, stderr string
		err         error
	}
	runs := make(chan run, 64)
	var verifiers sync.WaitGroup
	for _, dir := range []string{oldDir, newDir} {
		verifiers.Add(1)
		go func() {
			defer verifiers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				cmd := pluginCmd(nil, "verify", dir, "--table", table, "-n", ns, "-o", "json")
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				err := cmd.Run()
				code := cmd.ProcessState.ExitCode()
				if code >= 0 {
					err = nil
				}
				runs <- run{code: code, out: stdout.String(), stderr: stderr.String(), err: err}
				if len(runs) > 48 {
					return
				}
			}
		}()
	}
	time.Sleep(3 * time.Second)
	r := runPlugin(t, nil, "push", newDir, "--table", table, "-n", ns)
	close(stop)
	verifiers.Wait()
	close(runs)
	if r.code != 0 {
		t.Fatalf("push during the verifies:\n%s", r)
	}
	n := 0
	for v := range runs {
		n++
		if v.err != nil || v.code != 0 && v.code != 10 {
			t.Errorf("a verify during the push: exit %d (%v):\n%s%s", v.code, v.err, v.out, v.stderr)
			continue
		}
		if _, err := outputschema.Check("verify", []byte(v.out)); err != nil {
			t.Errorf("a verify during the push: %v\n%s", err, v.out)
		}
	}
	t.Logf("%d verifies ran beside the push", n)
	assertStagedCopy(t, newDir, table)
	if r := runPlugin(t, nil, "verify", newDir, "--table", table, "-n", ns); r.code != 0 {
		t.Errorf("verify of the version pushed last:\n%s", r)
	}
	if r := runPlugin(t, nil, "verify", oldDir, "--table", table, "-n", ns); r.code != 10 {
		t.Errorf("verify of the version pushed first:\n%s", r)
	}
	if pods := podNames(t, ns, naming.AnyPodSelector); len(pods) > 0 {
		t.Errorf("pods left behind: %v", pods)
	}
}

// TestVerifyInterruptedAtEachStep: Ctrl-C at moments spread over a whole
// verify (reading the cluster, creating the helper Pod, the Pod starting,
// the agent reading), once or twice in a row, and SIGTERM: each verify
// the signal reaches exits 130 and leaves no Pod; the volume is unchanged.
func TestVerifyInterruptedAtEachStep(t *testing.T) {
	const table = "e2e_verify_sigint"
	dir, _ := stagedTable(t, table)
	before := volumeState(t, table)
	start := time.Now()
	if r := runPlugin(t, nil, "verify", dir, "--table", table, "-n", ns); r.code != 0 {
		t.Fatalf("verify:\n%s", r)
	}
	whole := time.Since(start)
	t.Logf("a whole verify: %.1fs", whole.Seconds())
	type step struct {
		after time.Duration
		sigs  []os.Signal
	}
	var steps []step
	for f := 0; f < 10; f++ {
		steps = append(steps, step{whole * time.Duration(f) / 10, []os.Signal{syscall.SIGINT}})
	}
	steps = append(steps, step{whole / 3, []os.Signal{syscall.SIGINT, syscall.SIGINT}}, step{whole / 2, []os.Signal{syscall.SIGTERM}})
	for _, s := range steps {
		t.Run(fmt.Sprintf("%v after %s", s.sigs, s.after.Round(time.Millisecond)), func(t *testing.T) {
			cmd := pluginCmd(nil, "verify", dir, "--table", table, "-n", ns, "-o", "json")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			must(t, cmd.Start())
			time.Sleep(s.after)
			reached := true
			for i, sig := range s.sigs {
				if i > 0 {
					time.Sleep(100 * time.Millisecond)
				}
				if cmd.Process.Signal(sig) != nil {
					reached = false // it had ended
				}
			}
			_ = cmd.Wait()
			code := cmd.ProcessState.ExitCode()
			r := result{stdout: stdout.String(), stderr: stderr.String(), code: code}
			// A signal during the program's start-up, before main installs
			// its handler, kills it as it would any program (a shell says
			// 130 after Ctrl-C); it has done nothing yet, printed nothing.
			if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == s.sigs[0] && r.stdout == "" && r.stderr == "" {
				t.Logf("killed by %v during start-up, before the plugin ran", ws.Signal())
				code = 130
			}
			// A late signal may find the comparison done: the answer is
			// complete and stands (as a push whose swap went through), so
			// past half the measured time exit 0 with a whole report is
			// fine too; before it, only 130 is.
			late := s.after >= whole/2 && code == 0 && strings.Contains(r.stdout, `"exit_code": 0`) && strings.Contains(r.stdout, `"equal": true`)
			if reached && code != 130 && !late || !reached && code != 0 {
				t.Errorf("exit %d (the signal reached it: %v), want 130:\n%s", code, reached, r)
			}
			if reached && r.code == 130 {
				checkJSON(t, "verify", r, nil)
			}
			if pods := podNames(t, ns, naming.AnyPodSelector); len(pods) > 0 {
				t.Errorf("pods left behind: %v\n%s", pods, r)
			}
		})
	}
	if after := volumeState(t, table); after != before {
		t.Errorf("an interrupted verify changed the volume:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
