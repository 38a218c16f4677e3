//go:build e2e

package e2e

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// localNS is the second client of the fixture (hack/localcluster/
// fixture-local-pv.yaml): client-pvc there is a `local` PV whose directory on
// this host holds files of another owner.
const localNS = "tracebloc-local"

// owner is what a push must leave alone on a file it did not write.
type owner struct {
	UID, GID uint32
	Mode     string
}

// owners reads every entry under the local PV's directory straight from the
// host, outside the staging folder.
func owners(t *testing.T, root string) map[string]owner {
	t.Helper()
	got := map[string]owner{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if strings.HasPrefix(rel, ".tracebloc-staging") {
			return filepath.SkipDir
		}
		info, err := os.Lstat(path)
		if err != nil {
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		got[rel] = owner{UID: st.Uid, GID: st.Gid, Mode: info.Mode().String()}
		return nil
	})
	must(t, err)
	return got
}

func localVolume(t *testing.T) string {
	t.Helper()
	state := os.Getenv("LOCALCLUSTER_STATE")
	if state == "" {
		t.Fatal("LOCALCLUSTER_STATE is not set: source the local cluster's env")
	}
	dir := filepath.Join(state, "volumes", "local-client-pvc")
	if _, err := os.Stat(filepath.Join(dir, "models")); err != nil {
		t.Fatalf("the local PV of %s is not seeded (%v): recreate the cluster with hack/localcluster/cluster.sh up", localNS, err)
	}
	return dir
}

// TestPushLeavesOwnersOnALocalVolume pushes to a `local` PV, where kubelet
// applies a Pod's fsGroup to every file of the volume: afterwards every file
// that was there keeps its owner, group and mode.
func TestPushLeavesOwnersOnALocalVolume(t *testing.T) {
	const table = "e2e_fsgroup_local"
	dir := localVolume(t)
	seedOwned(t, filepath.Join(dir, "e2e-fsgroup"))
	before := owners(t, dir)
	// kubelet applies a Pod's fsGroup to a `local` volume only when that Pod
	// is its first user on the node: stop the jobs-manager stand-in so the
	// stage Pod mounts the volume first, as after a node or chart restart.
	scaleLocalJobsManager(t, 0)
	t.Cleanup(func() { scaleLocalJobsManager(t, 1) })
	r := runPlugin(t, nil, "push", smallDataset(t), "--table", table, "-n", localNS)
	if r.code != 0 {
		t.Fatalf("push in %s:\n%s", localNS, r)
	}
	if s := runPlugin(t, nil, "status", "-n", localNS); s.code != 0 || !strings.Contains(s.stdout, table) {
		t.Fatalf("status in %s does not list %s:\n%s", localNS, table, s)
	}
	if c := runPlugin(t, nil, "cleanup", "-n", localNS); c.code != 0 {
		t.Fatalf("cleanup in %s:\n%s", localNS, c)
	}
	after := owners(t, dir)
	for path := range after {
		if _, ok := before[path]; !ok {
			delete(after, path) // written by the push
		}
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("a push changed files it did not write on the local volume (-before +after):\n%s", diff)
	}
}

func scaleLocalJobsManager(t *testing.T, replicas int) {
	t.Helper()
	out, err := exec.Command(kubectlBin, "--kubeconfig", kubeconfig, "-n", localNS, "scale", "deployment/tracebloc-local-jobs-manager",
		"--replicas", strconv.Itoa(replicas)).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl scale: %v: %s", err, out)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		pods, err := client.CoreV1().Pods(localNS).List(context.Background(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=jobs-manager"})
		must(t, err)
		running := 0
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
				running++
			}
		}
		if running == replicas && len(pods.Items) == replicas {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the jobs-manager of %s did not reach %d Pods", localNS, replicas)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// seedOwned (re)writes files and folders of another owner, group and mode
// under dir, as another workload would leave them, whatever an earlier run
// left there.
func seedOwned(t *testing.T, dir string) {
	t.Helper()
	must(t, os.RemoveAll(dir))
	must(t, os.MkdirAll(filepath.Join(dir, "setgid"), 0o750))
	must(t, os.WriteFile(filepath.Join(dir, "data.csv"), []byte("id\n1\n"), 0o640))
	must(t, os.WriteFile(filepath.Join(dir, "setgid", "model.bin"), []byte("w"), 0o600))
	for path, mode := range map[string]os.FileMode{
		dir: 0o750, filepath.Join(dir, "setgid"): 0o750 | os.ModeSetgid,
		filepath.Join(dir, "data.csv"): 0o640, filepath.Join(dir, "setgid", "model.bin"): 0o600,
	} {
		must(t, os.Chown(path, 1234, 4321))
		must(t, os.Chmod(path, mode))
	}
}
