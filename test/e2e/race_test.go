//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
	"github.com/tracebloc/kubectl-tracebloc/pkg/lock"
)

// racedPush is one push of a race and when it ended.
type racedPush struct {
	dir   string
	r     result
	ended time.Time
}

// TestConcurrentPushesOfOneTable starts two pushes of one table with
// different data, round after round. The Lease lets one stage at a time; a
// push that exits 0 must have left exactly its own data, and when both
// succeed (one after the other), the staged copy is the later one's.
func TestConcurrentPushesOfOneTable(t *testing.T) {
	const table, rounds = "e2e_race", 20
	removeStaged(t, table)
	dirs := make([]string, 2)
	for i := range dirs {
		dirs[i] = filepath.Join(t.TempDir(), "ds")
		must(t, fixture.Write(dirs[i], fixture.Options{Images: 12, Width: 24, Height: 24, Noise: true, Seed: uint64(100 + i)}))
	}
	wins := 0
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewSource(seed))
	t.Logf("jitter seed %d", seed)
	for round := 0; round < rounds; round++ {
		done := make(chan racedPush, 2)
		// Even rounds start both at once; odd ones start the second up
		// to 3 s later, while the first may be swapping or releasing.
		delays := []time.Duration{0, 0}
		if round%2 == 1 {
			delays[1] = time.Duration(rng.Intn(3000)) * time.Millisecond
		}
		for i, d := range dirs {
			go func(d string, delay time.Duration) {
				time.Sleep(delay)
				cmd := pluginCmd(nil, "push", d, "--table", table, "-n", ns, "-q")
				var out, errb bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &errb
				err := cmd.Run()
				code := 0
				if ee, ok := err.(*exec.ExitError); ok {
					code = ee.ExitCode()
				}
				done <- racedPush{dir: d, r: result{stdout: out.String(), stderr: errb.String(), code: code}, ended: time.Now()}
			}(d, delays[i])
		}
		a, b := <-done, <-done
		var last *racedPush
		for _, p := range []*racedPush{&a, &b} {
			switch p.r.code {
			case 0:
				if last == nil || p.ended.After(last.ended) {
					last = p
				}
			case 7:
				// Refused: the other push held the table.
			default:
				t.Fatalf("round %d: a push ended with exit %d:\n%s", round, p.r.code, p.r)
			}
		}
		if last == nil {
			t.Fatalf("round %d: neither push staged:\n%s\n%s", round, a.r, b.r)
		}
		wins++
		if got, want := stagedSums(t, table), localSums(t, last.dir); !mapsEqual(got, want) {
			t.Fatalf("round %d: the staged copy is not the data of the push that succeeded last (%s)", round, last.dir)
		}
		assertNoStagePodsOf(t, table)
	}
	t.Logf("%d rounds, each with a push that staged exactly its own data", wins)
}

// TestCleanupRacingAPush runs cleanup while a push streams: the push still
// stages exactly its data, and cleanup leaves its Pod, Lease and partial
// copy alone.
func TestCleanupRacingAPush(t *testing.T) {
	const table = "e2e_cleanup_race"
	removeStaged(t, table)
	bulk := bulkDataset(t)
	cmd := pluginCmd(nil, "push", bulk, "--table", table, "-n", ns, "-q")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	must(t, cmd.Start())
	// Let the push take its Lease and start its Pod.
	deadline := time.Now().Add(60 * time.Second)
	for len(stagePodsOf(t, table)) == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	c := runPlugin(t, nil, "cleanup", "-n", ns)
	err := cmd.Wait()
	if err != nil {
		t.Fatalf("the push failed while cleanup ran: %v\n%s\ncleanup:\n%s", err, errb.String(), c)
	}
	if c.code != 0 {
		t.Errorf("cleanup: %s", c)
	}
	assertStagedCopy(t, bulk, table)
	assertNoStagePodsOf(t, table)
}

// TestInterruptThroughTimeoutLeavesNothing sends one SIGINT to a process
// group that holds `timeout` and the plugin (as a shell or CI runner does):
// the plugin gets it twice, at once. At jittered moments of the push, it
// must still clean up: no stage Pod, no held Lease.
func TestInterruptThroughTimeoutLeavesNothing(t *testing.T) {
	const table, runs = "e2e_sigint", 50
	removeStaged(t, table)
	dir := smallDataset(t)
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	for i := 0; i < runs; i++ {
		args := append([]string{"300", plugin}, stagingPush([]string{"push", dir, "--table", table, "-n", ns, "-q"})...)
		cmd := exec.Command("timeout", args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		var errb bytes.Buffer
		cmd.Stderr = &errb
		must(t, cmd.Start())
		time.Sleep(time.Duration(rng.Intn(2500)) * time.Millisecond)
		if i%2 == 0 {
			// The whole group: timeout forwards its copy too.
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		} else {
			// timeout alone, which passes it on.
			_ = cmd.Process.Signal(syscall.SIGINT)
		}
		_ = cmd.Wait()
		code := cmd.ProcessState.ExitCode()
		// A SIGINT that lands before the plugin has set up its handler
		// ends it at once (it has created nothing yet); timeout then
		// ends itself with the same signal.
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGINT {
			code = 130
		}
		if code != 0 && code != 130 && code != 124 {
			t.Fatalf("run %d: exit %d:\n%s", i, code, errb.String())
		}
		if bytes.Contains(errb.Bytes(), []byte("without cleanup")) {
			t.Fatalf("run %d: one Ctrl-C was taken for two:\n%s", i, errb.String())
		}
		assertNoStagePodsOf(t, table)
		l, err := client.CoordinationV1().Leases(ns).Get(context.Background(), lock.LeaseName(table), metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
		if err == nil && !lock.IsFree(l) {
			t.Fatalf("run %d (exit %d): the Lease is still held by %s:\n%s", i, code, *l.Spec.HolderIdentity, errb.String())
		}
	}
	fmt.Println("interrupted", runs, "pushes through timeout; none left a Pod or a held Lease")
}
