//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tracebloc/kubectl-tracebloc/internal/outputschema"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
	"github.com/tracebloc/kubectl-tracebloc/pkg/naming"
	"github.com/tracebloc/kubectl-tracebloc/pkg/verify"
)

// checkJSON checks that r's stdout is exactly one object of command's
// schema (schema/<command>.json) that echoes the exit code, and decodes
// it into v when v is not nil.
func checkJSON(t *testing.T, command string, r result, v any) {
	t.Helper()
	obj, err := outputschema.Check(command, []byte(r.stdout))
	if err != nil {
		t.Fatalf("%v\n%s", err, r)
	}
	if code, _ := obj["exit_code"].(json.Number); code.String() != strconv.Itoa(r.code) {
		t.Errorf("exit_code %v in the object, the process exited %d", obj["exit_code"], r.code)
	}
	if v != nil {
		must(t, json.Unmarshal([]byte(r.stdout), v))
	}
}

// volumeState is what the volume holds for table, down to each entry's
// size, times and inode, read from the reader Pod: any write shows.
func volumeState(t *testing.T, table string) string {
	t.Helper()
	return inReader(t, `cd "$1" && ls -A && find "$2" ".$2.manifest" -exec stat -c '%n %s %Y %Z %i %h' {} + | sort`, stagingDir, table)
}

// TestVerifyAfterPushAndEdits: verify finds the staged copy equal to the
// dataset after a push, then names each file missing, extra and changed
// once the local copy is edited (with and without --deep), and writes
// nothing on the volume; its helper Pod is gone afterwards.
func TestVerifyAfterPushAndEdits(t *testing.T) {
	const table = "e2e_verify"
	removeStaged(t, table)
	dir := smallDataset(t)
	addLeftovers(t, dir)
	r := runPlugin(t, nil, "push", dir, "--table", table, "-n", ns, "-o", "json", "--exclude", "images/drafts/")
	if r.code != 0 {
		t.Fatalf("push:\n%s", r)
	}
	before := volumeState(t, table)

	var rep verify.Report
	r = runPlugin(t, nil, "verify", dir, "--table", table, "-n", ns, "-o", "json", "--exclude", "images/drafts/")
	checkJSON(t, "verify", r, &rep)
	if r.code != 0 || !rep.Equal || !rep.Staged || rep.Local.Files != 21 || rep.Remote.Files != 21 || rep.Task != "image_classification" {
		t.Fatalf("verify right after the push: want equal, 21 files:\n%s", r)
	}
	r = runPlugin(t, nil, "verify", dir, "--table", table, "-n", ns, "--exclude", "images/drafts/")
	if r.code != 0 || !strings.Contains(r.stdout, "equal: the staged copy of "+table+" holds the 21 files") {
		t.Errorf("verify as text:\n%s", r)
	}

	// Edit the local copy: one image removed, one added, one rewritten
	// at the same size.
	images := filepath.Join(dir, "images")
	names, err := os.ReadDir(images)
	must(t, err)
	var imgs []string
	for _, e := range names {
		if e.Type().IsRegular() && strings.HasPrefix(e.Name(), "img_") {
			imgs = append(imgs, e.Name())
		}
	}
	removed, changed := imgs[0], imgs[1]
	must(t, os.Remove(filepath.Join(images, removed)))
	must(t, os.WriteFile(filepath.Join(images, "added.jpg"), mustRead(t, filepath.Join(images, imgs[2])), 0o644))
	b := mustRead(t, filepath.Join(images, changed))
	b[len(b)-1] ^= 0xff
	must(t, os.WriteFile(filepath.Join(images, changed), b, 0o644))

	for _, deep := range []bool{false, true} {
		args := []string{"verify", dir, "--table", table, "-n", ns, "-o", "json", "--exclude", "images/drafts/"}
		if deep {
			args = append(args, "--deep")
		}
		rep = verify.Report{}
		r = runPlugin(t, nil, args...)
		checkJSON(t, "verify", r, &rep)
		got := map[string][]string{}
		for _, f := range rep.Missing {
			got["missing"] = append(got["missing"], f.Path)
		}
		for _, f := range rep.Extra {
			got["extra"] = append(got["extra"], f.Path)
		}
		for _, f := range rep.Changed {
			got["changed"] = append(got["changed"], f.Path)
		}
		want := map[string][]string{"missing": {"images/added.jpg"}, "extra": {"images/" + removed}, "changed": {"images/" + changed}}
		if diff := cmp.Diff(want, got); diff != "" || r.code != 10 || rep.Equal {
			t.Errorf("deep=%v: exit %d, differences (-want +got):\n%s\n%s", deep, r.code, diff, r)
		}
		if deep && rep.HashedStaged != 21 {
			t.Errorf("--deep: the agent hashed %d staged files, want all 21", rep.HashedStaged)
		}
		if !deep && rep.HashedStaged != 0 {
			t.Errorf("without --deep the agent hashed %d staged files, want 0: the manifest covers an unchanged copy", rep.HashedStaged)
		}
	}
	r = runPlugin(t, nil, "verify", dir, "--table", table, "-n", ns, "--exclude", "images/drafts/")
	for _, want := range []string{"missing from the staged copy (1):\n  images/added.jpg", "extra, only in the staged copy (1):\n  images/" + removed, "changed (1):\n  images/" + changed} {
		if r.code != 10 || !strings.Contains(r.stdout, want) {
			t.Errorf("text output lacks %q:\n%s", want, r)
		}
	}
	if after := volumeState(t, table); after != before {
		t.Errorf("verify changed the volume:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if pods := podNames(t, ns, naming.AnyPodSelector); len(pods) > 0 {
		t.Errorf("pods left behind: %v", pods)
	}
}

// TestVerifyOfATableNeverStaged: a clear message and exit 10, in text and
// in JSON; no Pod left.
func TestVerifyOfATableNeverStaged(t *testing.T) {
	const table = "e2e_verify_never"
	removeStaged(t, table)
	dir := smallDataset(t)
	r := runPlugin(t, nil, "verify", dir, "--table", table, "-n", ns)
	if r.code != 10 || !strings.Contains(r.stderr, "error: table "+table+" has no staged copy in namespace "+ns+": push it first") || r.stdout != "" {
		t.Errorf("want exit 10 saying the table has no staged copy:\n%s", r)
	}
	var rep verify.Report
	r = runPlugin(t, nil, "verify", dir, "--table", table, "-n", ns, "-o", "json", "--task", "image_classification")
	checkJSON(t, "verify", r, &rep)
	if r.code != 10 || rep.Staged || rep.Equal || rep.Local.Files != 21 {
		t.Errorf("want exit 10, staged false, 21 local files:\n%s", r)
	}
	if pods := podNames(t, ns, naming.AnyPodSelector); len(pods) > 0 {
		t.Errorf("pods left behind: %v", pods)
	}
}

// TestVerifyInterruptedLeavesNoPod: Ctrl-C as the helper Pod is created, or
// two seconds later (the Pod starting or the agent reading), exits 130 and
// leaves no Pod; nothing on the volume changes.
func TestVerifyInterruptedLeavesNoPod(t *testing.T) {
	const table = "e2e_verify_int"
	removeStaged(t, table)
	dir := bulkDataset(t)
	if r := runPlugin(t, nil, "push", dir, "--table", table, "-n", ns, "-o", "json"); r.code != 0 {
		t.Fatalf("push:\n%s", r)
	}
	before := volumeState(t, table)
	// The figures of a whole verify of the same copy, for the report.
	for _, deep := range []string{"--deep=false", "--deep"} {
		start := time.Now()
		if r := runPlugin(t, nil, "verify", dir, "--table", table, "-n", ns, deep); r.code != 0 {
			t.Fatalf("verify %s:\n%s", deep, r)
		}
		t.Logf("verify %s of 1601 files (~150 MB): %.1fs", deep, time.Since(start).Seconds())
	}
	for _, after := range []time.Duration{0, 2 * time.Second} {
		t.Run(after.String()+" after the pod is created", func(t *testing.T) {
			cmd := pluginCmd(nil, "verify", dir, "--table", table, "-n", ns, "--deep")
			stderr, err := cmd.StderrPipe()
			must(t, err)
			must(t, cmd.Start())
			var errOut strings.Builder
			sent := false
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				errOut.WriteString(sc.Text() + "\n")
				if !sent && strings.Contains(sc.Text(), "creating helper pod") {
					time.Sleep(after)
					must(t, cmd.Process.Signal(syscall.SIGINT))
					sent = true
				}
			}
			_ = cmd.Wait()
			code := cmd.ProcessState.ExitCode()
			if !sent || (code != 130 && code != 0) {
				t.Fatalf("exit %d (signal sent: %v):\n%s", code, sent, errOut.String())
			}
			if pods := podNames(t, ns, naming.AnyPodSelector); len(pods) > 0 {
				t.Errorf("pods left behind: %v\n%s", pods, errOut.String())
			}
			t.Logf("exit %d", code)
		})
	}
	if after := volumeState(t, table); after != before {
		t.Errorf("an interrupted verify changed the volume:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// TestVerifySecondInterruptNamesTheHelperPod: a second Ctrl-C while verify
// deletes its helper Pod exits at once and prints the command that deletes
// the Pod, as push does for its stage Pod. A finalizer the test puts on the
// Pod holds the deletion, so the second signal always lands in it.
func TestVerifySecondInterruptNamesTheHelperPod(t *testing.T) {
	const table = "e2e_verify_twice"
	removeStaged(t, table)
	dir := filepath.Join(t.TempDir(), "ds")
	must(t, fixture.Write(dir, fixture.Options{Images: 4, Width: 32, Height: 32, Ext: ".png"}))
	if r := runPlugin(t, nil, "push", dir, "--table", table, "-n", ns, "-o", "json"); r.code != 0 {
		t.Fatalf("push:\n%s", r)
	}
	cmd := pluginCmd(nil, "verify", dir, "--table", table, "-n", ns)
	stderr, err := cmd.StderrPipe()
	must(t, err)
	must(t, cmd.Start())
	var errOut strings.Builder
	pod := ""
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		errOut.WriteString(sc.Text() + "\n")
		if pod != "" {
			continue
		}
		if _, rest, ok := strings.Cut(sc.Text(), "creating helper pod "); ok {
			pod, _, _ = strings.Cut(rest, " ")
			holdPod(t, pod)
			must(t, cmd.Process.Signal(syscall.SIGINT))
			// Past the grace in which a second signal is a copy of the first.
			time.Sleep(2500 * time.Millisecond)
			must(t, cmd.Process.Signal(syscall.SIGINT))
		}
	}
	_ = cmd.Wait()
	if pod == "" {
		t.Fatalf("verify created no helper pod:\n%s", errOut.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("exit %d, want 130:\n%s", code, errOut.String())
	}
	want := "exiting without cleanup; finish it with: kubectl delete pod " + pod + " -n " + ns
	if !strings.Contains(errOut.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, errOut.String())
	}
	releasePod(t, pod)
	deadline := time.Now().Add(30 * time.Second)
	for len(podNames(t, ns, naming.AnyPodSelector)) > 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if pods := podNames(t, ns, naming.AnyPodSelector); len(pods) > 0 {
		t.Errorf("pods left behind once the deletion may finish: %v", pods)
	}
}

// holdFinalizer keeps a Pod the test holds from going away.
const holdFinalizer = "e2e.tracebloc.io/hold"

// holdPod waits for pod to exist and puts holdFinalizer on it; the test's
// end takes it off again, whatever happened.
func holdPod(t *testing.T, pod string) {
	t.Helper()
	t.Cleanup(func() { releasePod(t, pod) })
	patch := []byte(`{"metadata":{"finalizers":["` + holdFinalizer + `"]}}`)
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := client.CoreV1().Pods(ns).Patch(context.Background(), pod, types.MergePatchType, patch, metav1.PatchOptions{})
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("holding pod %s: %v", pod, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// releasePod takes holdFinalizer off pod, if it is still there.
func releasePod(t *testing.T, pod string) {
	t.Helper()
	patch := []byte(`{"metadata":{"finalizers":null}}`)
	_, err := client.CoreV1().Pods(ns).Patch(context.Background(), pod, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("releasing pod %s: %v", pod, err)
	}
}
