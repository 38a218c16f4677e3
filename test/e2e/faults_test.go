//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
)

// pushWithFault starts a JSON push and runs fault once the stream is under way.
func pushWithFault(t *testing.T, dir, table string, fault func()) (result, report, time.Duration) {
	t.Helper()
	cmd := pluginCmd([]string{"TRACEBLOC_PROGRESS_INTERVAL=100ms"}, "push", dir, "--table", table, "-n", ns, "-o", "json")
	stderr, err := cmd.StderrPipe()
	must(t, err)
	var out strings.Builder
	cmd.Stdout = &out
	must(t, cmd.Start())
	var errOut strings.Builder
	var faulted time.Time
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		line := sc.Text()
		errOut.WriteString(line + "\n")
		if faulted.IsZero() && strings.Contains(line, "sending: ") {
			faulted = time.Now()
			fault()
		}
	}
	err = cmd.Wait()
	code := 0
	if err != nil {
		code = cmd.ProcessState.ExitCode()
	}
	if faulted.IsZero() {
		t.Fatalf("the stream never started:\n%s", errOut.String())
	}
	r := result{stdout: out.String(), stderr: errOut.String(), code: code}
	return r, parseReport(t, r), time.Since(faulted)
}

func TestStagePodDeletedMidStream(t *testing.T) {
	const table = "e2e_pod_deleted"
	removeStaged(t, table)
	bulk := bulkDataset(t)
	r, rep, took := pushWithFault(t, bulk, table, func() {
		for _, p := range stagePods(t, ns) {
			_ = client.CoreV1().Pods(ns).Delete(context.Background(), p, metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0))})
		}
	})
	if r.code != 0 || !rep.Verified || !strings.Contains(r.stderr, "retrying in") {
		t.Fatalf("want a retry that ends in a verified copy:\n%s", r)
	}
	assertStagedCopy(t, bulk, table)
	assertNoStagePods(t, ns)
	t.Logf("exit %d %.1fs after the pod was deleted; resumed %d files", r.code, took.Seconds(), rep.Transfer.Resumed)
}

func TestAPIServerRestartMidStream(t *testing.T) {
	const table = "e2e_apiserver_restart"
	removeStaged(t, table)
	bulk := bulkDataset(t)
	script := filepath.Join("..", "..", "hack", "localcluster", "cluster.sh")
	r, rep, took := pushWithFault(t, bulk, table, func() {
		if out, err := exec.Command("bash", script, "restart", "apiserver").CombinedOutput(); err != nil {
			t.Errorf("restarting the apiserver: %v: %s", err, out)
		}
	})
	if r.code != 0 || !rep.Verified || strings.Contains(r.stderr, "warning: could not delete") {
		t.Fatalf("want the push to survive the restart and clean up:\n%s", r)
	}
	assertStagedCopy(t, bulk, table)
	assertNoStagePods(t, ns)
	t.Logf("exit %d %.1fs after the restart began; retried: %v", r.code, took.Seconds(), strings.Contains(r.stderr, "retrying in"))
}

// relay is a TCP proxy in front of the apiserver whose connections a test
// can cut, as a flaky VPN would.
type relay struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newRelay(t *testing.T, target string) *relay {
	t.Helper()
	r := &relay{}
	r.ln = listenRelay(t, target, func(c, up net.Conn) {
		r.mu.Lock()
		r.conns = append(r.conns, c, up)
		r.mu.Unlock()
		go func() { _, _ = io.Copy(up, c); up.Close() }()
		go func() { _, _ = io.Copy(c, up); c.Close() }()
	})
	t.Cleanup(func() { r.cut() })
	return r
}

// cut closes every connection open now; new ones still work.
func (r *relay) cut() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		c.Close()
	}
	n := len(r.conns) / 2
	r.conns = nil
	return n
}

func TestConnectionCutMidStream(t *testing.T) {
	const table = "e2e_conn_cut"
	removeStaged(t, table)
	bulk := bulkDataset(t)
	rl := newRelay(t, "198.18.0.2:6443")
	server := "https://" + rl.ln.Addr().String()
	cmd := pluginCmd([]string{"TRACEBLOC_PROGRESS_INTERVAL=100ms"}, "push", bulk, "--table", table, "-n", ns, "-o", "json", "--server", server)
	stderr, err := cmd.StderrPipe()
	must(t, err)
	var out, errOut strings.Builder
	cmd.Stdout = &out
	must(t, cmd.Start())
	cuts := 0
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		errOut.WriteString(sc.Text() + "\n")
		if cuts == 0 && strings.Contains(sc.Text(), "sending: ") {
			cuts = rl.cut()
		}
	}
	_ = cmd.Wait()
	r := result{stdout: out.String(), stderr: errOut.String(), code: cmd.ProcessState.ExitCode()}
	rep := parseReport(t, r)
	if cuts == 0 || r.code != 0 || !rep.Verified || !strings.Contains(r.stderr, "retrying in") || rep.Transfer.Resumed == 0 {
		t.Fatalf("want a cut (%d connections), a retry that resumes, and a verified copy:\n%s", cuts, r)
	}
	assertStagedCopy(t, bulk, table)
	assertNoStagePods(t, ns)
	t.Logf("cut %d connections; resumed %d files, sent %d", cuts, rep.Transfer.Resumed, rep.Transfer.SentFiles)
}

// TestVolumeFull stages onto a 24 MiB volume in a namespace of its own.
func TestVolumeFull(t *testing.T) {
	ctx := context.Background()
	n := tempNamespace(t, "e2e-full")
	dir := t.TempDir()
	must(t, os.Chmod(dir, 0o755))
	vol := filepath.Join(dir, "vol")
	must(t, os.Mkdir(vol, 0o755))
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=24m,mode=2777", "tmpfs", vol).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", vol).Run() })
	pvName := "e2e-full-pv"
	_, err := client.CoreV1().PersistentVolumes().Create(ctx, &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: pvName},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("24Mi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			StorageClassName:              "",
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: vol}},
			ClaimRef:                      &corev1.ObjectReference{Namespace: n, Name: "client-pvc"},
		},
	}, metav1.CreateOptions{})
	must(t, err)
	t.Cleanup(func() {
		_ = client.CoreV1().PersistentVolumes().Delete(context.Background(), pvName, metav1.DeleteOptions{})
	})
	empty := ""
	_, err = client.CoreV1().PersistentVolumeClaims(n).Create(ctx, &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "client-pvc", Namespace: n},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: &empty, VolumeName: pvName,
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("24Mi")}}},
	}, metav1.CreateOptions{})
	must(t, err)
	_, err = client.AppsV1().Deployments(n).Create(ctx, jobsManager(n, "full-jobs-manager", "full"), metav1.CreateOptions{})
	must(t, err)
	for i := 0; ; i++ {
		pvc, err := client.CoreV1().PersistentVolumeClaims(n).Get(ctx, "client-pvc", metav1.GetOptions{})
		if err == nil && pvc.Status.Phase == corev1.ClaimBound {
			break
		}
		if i > 100 {
			t.Fatal("client-pvc of e2e-full never bound")
		}
		time.Sleep(200 * time.Millisecond)
	}
	small := filepath.Join(t.TempDir(), "small")
	must(t, fixture.Write(small, fixture.Options{Images: 20, Width: 64, Height: 64, Ext: ".png", Noise: true}))
	if r := runPlugin(t, nil, "push", small, "--table", "full", "-n", n); r.code != 0 {
		t.Fatalf("first push:\n%s", r)
	}
	big := filepath.Join(t.TempDir(), "big")
	must(t, fixture.Write(big, fixture.Options{Images: 300, Width: 176, Height: 176, Ext: ".png", Noise: true}))
	start := time.Now()
	r := runPlugin(t, nil, "push", big, "--table", "full", "-n", n)
	// The free-space check refuses before the stream; ENOSPC in the
	// middle of it is what the check spares the user.
	if r.code != 7 || !strings.Contains(r.stderr, "the shared volume has room for") || !strings.Contains(r.stderr, "nothing was sent") {
		t.Fatalf("want exit 7 saying the volume has no room for the push, before anything is sent:\n%s", r)
	}
	t.Logf("exit %d after %.1fs", r.code, time.Since(start).Seconds())
	assertNoStagePods(t, n)
	// Read the volume directly: it is a folder on this host.
	staged := filepath.Join(vol, ".tracebloc-staging")
	if got := localSums(t, filepath.Join(staged, "full")); !mapsEqual(got, localSums(t, small)) {
		t.Error("the previous staged copy changed")
	}
	entries, err := os.ReadDir(staged)
	must(t, err)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".partial-") || strings.HasPrefix(e.Name(), ".old-") {
			t.Errorf("temporary data left on the full volume: %s", e.Name())
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
