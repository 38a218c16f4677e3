//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/tracebloc/kubectl-tracebloc/pkg/lock"
	"github.com/tracebloc/kubectl-tracebloc/pkg/stagepod"
)

// bindRole applies docs/rbac.yaml for a new ServiceAccount, optionally
// without one resource, and returns the --as value for it.
func bindRole(t *testing.T, sa string, drop string) string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "rbac.yaml"))
	must(t, err)
	text := strings.ReplaceAll(string(doc), "tracebloc-pusher", sa)
	if drop != "" {
		text = strings.Replace(text, `    resources: ["`+drop+`"]`, `    resources: ["e2e-none"]`, 1)
	}
	text += "---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: " + sa + "\n"
	cmd := exec.Command(kubectlBin, "--kubeconfig", kubeconfig, "apply", "-n", ns, "-f", "-")
	cmd.Stdin = strings.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kubectl apply: %v: %s", err, out)
	}
	t.Cleanup(func() {
		del := exec.Command(kubectlBin, "--kubeconfig", kubeconfig, "delete", "-n", ns, "-f", "-", "--wait=false")
		del.Stdin = strings.NewReader(text)
		_ = del.Run()
	})
	return "system:serviceaccount:" + ns + ":" + sa
}

func TestDocumentedRoleIsEnough(t *testing.T) {
	const table = "e2e_rbac"
	removeStaged(t, table)
	as := bindRole(t, "e2e-pusher", "")
	dir := smallDataset(t)
	r, rep := push(t, dir, table, "--as", as)
	if r.code != 0 || !rep.Verified {
		t.Fatalf("push as %s:\n%s", as, r)
	}
	assertStagedCopy(t, dir, table)
}

func TestMissingExecPermissionCreatesNoPod(t *testing.T) {
	as := bindRole(t, "e2e-noexec", "pods/exec")
	w, err := client.CoreV1().Pods(ns).Watch(context.Background(), metav1.ListOptions{LabelSelector: stagepod.Selector})
	must(t, err)
	defer w.Stop()
	for _, dry := range []bool{true, false} {
		args := []string{"push", smallDataset(t), "--table", "e2e_noexec", "-n", ns, "--as", as}
		if dry {
			args = append(args, "--dry-run")
		}
		r := runPlugin(t, nil, args...)
		if r.code != 5 || !strings.Contains(r.stderr, "missing permission: create pods/exec in namespace tracebloc") || !strings.Contains(r.stderr, "docs/rbac.yaml") {
			t.Fatalf("dry-run=%v: want exit 5 naming pods/exec:\n%s", dry, r)
		}
	}
	select {
	case ev := <-w.ResultChan():
		if ev.Type == watch.Added {
			t.Fatalf("a pod was created without the exec permission: %s", ev.Object.(*corev1.Pod).Name)
		}
	case <-time.After(time.Second):
	}
}

func TestSecondPushOfATableIsRefused(t *testing.T) {
	const table = "e2e_twice"
	removeStaged(t, table)
	bulk := bulkDataset(t)
	// The first push must still hold the table when the second one looks:
	// at 100 Mbit/s its 150 MB take 12 s, enough for a renewal of its Lease.
	slowLink(t)
	first := pluginCmd([]string{"TRACEBLOC_PROGRESS_INTERVAL=200ms"}, "push", bulk, "--table", table, "-n", ns)
	stderr, err := first.StderrPipe()
	must(t, err)
	must(t, first.Start())
	buf := make([]byte, 64<<10)
	seen := ""
	for !strings.Contains(seen, "sending ") {
		n, err := stderr.Read(buf)
		if err != nil {
			t.Fatalf("first push ended early: %v\n%s", err, seen)
		}
		seen += string(buf[:n])
	}
	r := runPlugin(t, nil, "push", smallDataset(t), "--table", table, "-n", ns)
	if r.code != 7 || !strings.Contains(r.stderr, "is being pushed by") || !strings.Contains(r.stderr, "pid "+itoa(first.Process.Pid)) {
		t.Errorf("second push: want exit 7 naming the first one (pid %d):\n%s", first.Process.Pid, r)
	}
	drain(stderr)
	if err := first.Wait(); err != nil {
		t.Fatalf("first push failed: %v", err)
	}
	assertStagedCopy(t, bulk, table)
}

func TestKilledPushIsCleanedUpAndResumed(t *testing.T) {
	const table = "e2e_killed"
	removeStaged(t, table)
	// A staged copy first: the table's Lease then records it.
	if r, _ := push(t, smallDataset(t), table); r.code != 0 {
		t.Fatalf("first push:\n%s", r)
	}
	bulk := bulkDataset(t)
	cmd := pluginCmd([]string{"TRACEBLOC_PROGRESS_INTERVAL=100ms"}, "push", bulk, "--table", table, "-n", ns)
	stderr, err := cmd.StderrPipe()
	must(t, err)
	must(t, cmd.Start())
	seen := ""
	buf := make([]byte, 64<<10)
	for !strings.Contains(seen, "sending: ") {
		n, err := stderr.Read(buf)
		if err != nil {
			t.Fatalf("push ended early: %v\n%s", err, seen)
		}
		seen += string(buf[:n])
	}
	time.Sleep(300 * time.Millisecond)
	must(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	dead := stagePodsOf(t, table)
	if len(dead) == 0 {
		t.Fatal("a killed push left no stage pod: the test did not kill it mid-stream")
	}
	// Its Lease keeps the table for at most the TTL; then cleanup owns the rest.
	deadline := time.Now().Add(45 * time.Second)
	for {
		l, err := client.CoordinationV1().Leases(ns).Get(context.Background(), lock.LeaseName(table), metav1.GetOptions{})
		if err != nil || lock.Expired(l, time.Now()) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the dead push's Lease never expired")
		}
		time.Sleep(time.Second)
	}
	dry := runPlugin(t, nil, "cleanup", "-n", ns, "--dry-run")
	for _, want := range []string{"Pod ", "Lease ", ".partial-" + table} {
		if dry.code != 0 || !strings.Contains(dry.stdout, want) {
			t.Fatalf("cleanup --dry-run does not list %q:\n%s", want, dry)
		}
	}
	if len(stagePodsOf(t, table)) == 0 {
		t.Fatal("cleanup --dry-run removed the stage pod")
	}
	// The next push works, and resumes what the killed one sent.
	r, rep := push(t, bulk, table)
	if r.code != 0 || rep.Transfer.Resumed == 0 {
		t.Fatalf("push after a killed one: want success with resumed files:\n%s", r)
	}
	assertStagedCopy(t, bulk, table)
	// Holding the table's Lease, the push deleted the dead push's Pod
	// itself, before any cleanup, and said so.
	for _, p := range dead {
		pod, err := client.CoreV1().Pods(ns).Get(context.Background(), p, metav1.GetOptions{})
		if err == nil && pod.DeletionTimestamp == nil {
			t.Errorf("after the next push, the dead push's pod %s is still there", p)
		}
	}
	if !strings.Contains(r.stderr, "of an earlier push of "+table+" that did not end cleanly") {
		t.Errorf("push did not say it deleted the dead push's pod:\n%s", r.stderr)
	}
	done := runPlugin(t, nil, "cleanup", "-n", ns)
	if done.code != 0 {
		t.Fatalf("cleanup:\n%s", done)
	}
	// The table's Lease went through a dead push, its takeover and cleanup,
	// and still records the staged copy.
	if comp := runPlugin(t, nil, "__complete", "push", bulk, "-n", ns, "--table", table); !strings.Contains(comp.stdout, table+"\t") {
		t.Errorf("after cleanup, --table completion lost %s:\n%s", table, comp)
	}
	assertNoStagePodsOf(t, table)
	again := runPlugin(t, nil, "cleanup", "-n", ns, "-o", "json")
	if again.code != 0 || !strings.Contains(again.stdout, `"found": []`) {
		t.Fatalf("leftovers after cleanup:\n%s", again)
	}
}

func drain(r interface{ Read([]byte) (int, error) }) {
	buf := make([]byte, 64<<10)
	for {
		if _, err := r.Read(buf); err != nil {
			return
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
