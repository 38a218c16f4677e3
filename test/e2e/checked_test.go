//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tracebloc/kubectl-tracebloc/pkg/lock"
)

// pushChangingAt runs a push and calls change once stderr shows marker.
// "creating stage pod" comes after the pre-flight has read every file and
// over a second before the stream starts (the Pod must run and take the
// agent first), so the change lands between the check and the send.
func pushChangingAt(t *testing.T, dir, table, marker string, change func()) result {
	t.Helper()
	cmd := pluginCmd(nil, "push", dir, "--table", table, "-n", ns)
	stderr, err := cmd.StderrPipe()
	must(t, err)
	var out strings.Builder
	cmd.Stdout = &out
	must(t, cmd.Start())
	var errOut strings.Builder
	changed := false
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		errOut.WriteString(sc.Text() + "\n")
		if !changed && strings.Contains(sc.Text(), marker) {
			change()
			changed = true
		}
	}
	_ = cmd.Wait()
	r := result{stdout: out.String(), stderr: errOut.String(), code: cmd.ProcessState.ExitCode()}
	if !changed {
		t.Fatalf("never saw %q, nothing was changed:\n%s", marker, r)
	}
	return r
}

// writeMarkAt overwrites bytes of p from off with mark: same file, same
// size, other content.
func writeMarkAt(t *testing.T, p string, off int64, mark string) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	must(t, err)
	_, err = f.WriteAt([]byte(mark), off)
	must(t, err)
	must(t, f.Close())
}

// TestLocalFileChangedDuringPush changes the dataset after the pre-flight
// has checked it and before the stream sends it. Every change carries a
// mark no other file holds. Whatever changed, the push must stop with exit
// 3 naming the file, stage nothing, leave no Pod and a free Lease, and never
// carry the marked bytes (a file outside the dataset, or bytes the
// pre-flight never saw) onto the volume.
func TestLocalFileChangedDuringPush(t *testing.T) {
	const table = "e2e12_changed"
	img := func(dir, name string) string { return filepath.Join(dir, "images", name) }
	tests := []struct {
		name string
		// change gets the dataset, a folder outside it and the mark.
		change func(t *testing.T, dir, outside, mark string)
		names  string
	}{
		{"a file swapped for a link to a secret", func(t *testing.T, dir, outside, mark string) {
			// The secret is as long as the image it replaces: a push
			// that follows the link finds nothing amiss in the size.
			size := len(mustRead(t, img(dir, "img_00002.jpg")))
			secret := filepath.Join(outside, "secret.jpg")
			must(t, os.WriteFile(secret, bytes.Repeat([]byte(mark), size/len(mark)+1)[:size], 0o600))
			must(t, os.Remove(img(dir, "img_00002.jpg")))
			must(t, os.Symlink(secret, img(dir, "img_00002.jpg")))
		}, "img_00002.jpg"},
		{"images swapped for a link to another folder", func(t *testing.T, dir, outside, mark string) {
			// The other folder holds the same names and sizes, other
			// content.
			other := filepath.Join(outside, "other")
			must(t, os.Mkdir(other, 0o755))
			entries, err := os.ReadDir(filepath.Join(dir, "images"))
			must(t, err)
			for _, e := range entries {
				p := filepath.Join(other, e.Name())
				must(t, os.WriteFile(p, mustRead(t, img(dir, e.Name())), 0o644))
				writeMarkAt(t, p, 100, mark)
			}
			must(t, os.Rename(filepath.Join(dir, "images"), filepath.Join(outside, "moved")))
			must(t, os.Symlink(other, filepath.Join(dir, "images")))
		}, "images/"},
		{"images moved away and linked back", func(t *testing.T, dir, outside, _ string) {
			// The same files, read through a link the pre-flight never saw.
			must(t, os.Rename(filepath.Join(dir, "images"), filepath.Join(outside, "moved")))
			must(t, os.Symlink(filepath.Join(outside, "moved"), filepath.Join(dir, "images")))
		}, "images/"},
		{"a file that grew", func(t *testing.T, dir, _, mark string) {
			// By 8 MiB, far more than the whole dataset the pre-flight
			// counted: enough to reach the volume if it is sent at all.
			f, err := os.OpenFile(img(dir, "img_00004.jpg"), os.O_APPEND|os.O_WRONLY, 0)
			must(t, err)
			_, err = f.Write(bytes.Repeat([]byte(mark), 8<<20/len(mark)))
			must(t, err)
			must(t, f.Close())
		}, "img_00004.jpg"},
		{"a file edited in place, its size unchanged", func(t *testing.T, dir, _, mark string) {
			writeMarkAt(t, img(dir, "img_00003.jpg"), 100, mark)
		}, "img_00003.jpg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			removeStaged(t, table)
			dir := smallDataset(t)
			outside := t.TempDir()
			b := make([]byte, 12)
			_, err := rand.Read(b)
			must(t, err)
			mark := "e2e12-unchecked-" + hex.EncodeToString(b) + "\n"

			r := pushChangingAt(t, dir, table, "creating stage pod", func() { tt.change(t, dir, outside, mark) })
			if r.code != 3 || !strings.Contains(r.stderr, tt.names) || !strings.Contains(r.stderr, "changed during the push") {
				t.Errorf("want exit 3 saying %s changed during the push:\n%s", tt.names, r)
			}
			// The progress counts what is sent against what was checked.
			for _, line := range strings.Split(r.stderr, "\n") {
				var pct float64
				if _, err := fmt.Sscanf(line, "sending: %f%%", &pct); err == nil && pct > 100 {
					t.Errorf("sent more than the pre-flight checked: %q", line)
				}
			}
			if sums := stagedSums(t, table); len(sums) != 0 {
				t.Errorf("a staged copy was made: %d files", len(sums))
			}
			// Everywhere a push of the table writes: its partial, staged and
			// old copies, its manifest, and the staging folder's own files.
			where := `S="$2"; T="$3"; grep -rlF "$1" "$S/.partial-$T" "$S/$T" "$S/.$T.manifest" "$S"/.old-"$T"-* 2>/dev/null;
find "$S" -maxdepth 1 -type f -exec grep -lF "$1" {} + 2>/dev/null; true`
			if found := inReader(t, where, strings.TrimSpace(mark), stagingDir, table); strings.TrimSpace(found) != "" {
				t.Errorf("bytes the pre-flight never checked reached the volume:\n%s", found)
			}
			assertNoStagePodsOf(t, table)
			l, err := client.CoordinationV1().Leases(ns).Get(context.Background(), lock.LeaseName(table), metav1.GetOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				t.Fatal(err)
			}
			if err == nil && !lock.IsFree(l) {
				t.Errorf("the Lease is still held by %s", *l.Spec.HolderIdentity)
			}
		})
	}
}
