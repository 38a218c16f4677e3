//go:build e2e

// Package e2e runs the built plugin against the local real cluster
// (hack/localcluster) and reads results back through its own Pod, never
// through the plugin. Run it with `make e2e`.
package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tracebloc/kubectl-tracebloc/pkg/lock"
	"github.com/tracebloc/kubectl-tracebloc/pkg/spec"
	"github.com/tracebloc/kubectl-tracebloc/pkg/stagepod"
	"github.com/tracebloc/kubectl-tracebloc/test/harness"
)

const (
	ns         = harness.Namespace
	readerPod  = harness.ReaderPod
	stagingDir = spec.StagingRoot
)

// The cluster of the run; TestMain sets them.
var (
	plugin     string
	kubeconfig string
	stageImage string
	kubectlBin string
	client     kubernetes.Interface
)

func TestMain(m *testing.M) {
	env, err := harness.Setup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	plugin, kubeconfig, stageImage, kubectlBin, client = env.Plugin, env.Kubeconfig, env.StageImage, env.Kubectl, env.Client
	code := m.Run()
	env.Teardown()
	os.Exit(code)
}

// restrictedPod is a Pod that passes Pod Security "restricted" and mounts client-pvc.
func restrictedPod(name string) *corev1.Pod { return harness.RestrictedPod(name, stageImage) }

// slowLink shapes the link to the cluster to 100 Mbit/s until undone.
var slowLink = harness.SlowLink

// inReader runs a shell command in the reader Pod with the real kubectl.
func inReader(t *testing.T, script string, args ...string) string {
	t.Helper()
	out, err := exec.Command(kubectlBin, append([]string{"--kubeconfig", kubeconfig, "exec", "-n", ns, readerPod, "--", "sh", "-c", script, "sh"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("reader: %v: %s", err, out)
	}
	return string(out)
}

// stagedSums reads the staged copy of table back: path → SHA-256.
func stagedSums(t *testing.T, table string) map[string]string {
	t.Helper()
	out := inReader(t, `cd "$1" 2>/dev/null || exit 0; find . -type f -exec sha256sum {} +`, stagingDir+"/"+table)
	sums := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		sum, name, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("reader: odd line %q", line)
		}
		sums[strings.TrimPrefix(name, "./")] = sum
	}
	return sums
}

// stagingEntries lists the staging folder: staged tables and any leftovers.
func stagingEntries(t *testing.T) string {
	t.Helper()
	return inReader(t, `ls -A "$1" 2>/dev/null || true`, stagingDir)
}

// removeStaged removes what the volume and the cluster hold for table now
// (a killed earlier run may have left it) and again when the test ends.
func removeStaged(t *testing.T, table string) {
	t.Helper()
	inReader(t, `rm -rf "$1/$2" "$1/.$2.manifest" "$1/.partial-$2" "$1"/.old-"$2"-*`, stagingDir, table)
	_ = client.CoordinationV1().Leases(ns).Delete(context.Background(), lock.LeaseName(table), metav1.DeleteOptions{})
	t.Cleanup(func() {
		inReader(t, `rm -rf "$1/$2" "$1/.partial-$2" "$1"/.old-"$2"-*`, stagingDir, table)
		// And the Lease that records the table.
		_ = client.CoordinationV1().Leases(ns).Delete(context.Background(), lock.LeaseName(table), metav1.DeleteOptions{})
	})
}

// localSums hashes a local dataset the same way.
func localSums(t *testing.T, dir string) map[string]string {
	t.Helper()
	sums := map[string]string{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		sums[filepath.ToSlash(rel)] = hex.EncodeToString(h.Sum(nil))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sums
}

type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// stageOnly is "--stage-only" when the plugin under test knows the flag,
// else "". A build from before the ingestion run never ingests, so staging
// only is what its push does anyway: the same tests then run against it
// (TRACEBLOC_PLUGIN=<an older build>) to show what it got wrong.
var stageOnly = sync.OnceValue(func() string {
	out, err := exec.Command(plugin, "push", "--help").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %s push --help: %v\n%s", plugin, err, out)
		os.Exit(1)
	}
	if strings.Contains(string(out), "--stage-only") {
		return "--stage-only"
	}
	return ""
})

// stagingPush makes push arguments stop after staging when the plugin can.
func stagingPush(args []string) []string {
	if len(args) == 0 || args[0] != "push" || stageOnly() == "" {
		return args
	}
	return append([]string{"push", stageOnly()}, args[1:]...)
}

// pluginCmd runs the plugin. A push stops after staging (--stage-only):
// the tests of staging check the staged copy, which a clean ingestion run
// removes. The tests of the run use ingestCmd.
func pluginCmd(env []string, args ...string) *exec.Cmd {
	return ingestCmd(env, stagingPush(args)...)
}

// ingestCmd runs the plugin as given: a push goes on to the ingestion run.
func ingestCmd(env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(plugin, args...)
	cmd.Env = append(os.Environ(), env...)
	return cmd
}

// runPlugin runs the plugin binary as a user would.
func runPlugin(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := pluginCmd(env, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// report is the part of -o json the tests read.
type report struct {
	Status   string `json:"status"`
	Files    int    `json:"files"`
	Bytes    int64  `json:"bytes"`
	StagePod string `json:"stage_pod"`
	Verified bool   `json:"verified"`
	Error    string `json:"error"`
	ExitCode int    `json:"exit_code"`
	Transfer *struct {
		SentFiles int              `json:"sent_files"`
		SentBytes int64            `json:"sent_bytes"`
		Reused    int              `json:"reused_files"`
		Resumed   int              `json:"resumed_files"`
		Verified  int              `json:"verified_files"`
		WireBytes int64            `json:"wire_bytes"`
		Codecs    map[string]int64 `json:"codecs"`
	} `json:"transfer"`
	DurationSeconds float64 `json:"duration_seconds"`
	Release         *struct {
		Name string `json:"name"`
	} `json:"release"`
}

func parseReport(t *testing.T, r result) report {
	t.Helper()
	var rep report
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, r)
	}
	if dec.More() {
		t.Fatalf("stdout holds more than one JSON object:\n%s", r)
	}
	return rep
}

// stagePods lists the stage Pods in a namespace.
func stagePods(t *testing.T, namespace string) []string {
	t.Helper()
	return podNames(t, namespace, stagepod.Selector)
}

// podNames lists the Pods in a namespace that selector matches.
func podNames(t *testing.T, namespace, selector string) []string {
	t.Helper()
	pods, err := client.CoreV1().Pods(namespace).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pods.Items {
		names = append(names, p.Name)
	}
	return names
}

func assertNoStagePods(t *testing.T, namespace string) {
	t.Helper()
	if pods := stagePods(t, namespace); len(pods) > 0 {
		t.Errorf("stage pods left behind in %s: %v", namespace, pods)
	}
}

// stagePodsOf lists the stage Pods of one table in ns: other tables' pushes
// (a benchmark, another test) may run meanwhile.
func stagePodsOf(t *testing.T, table string) []string {
	t.Helper()
	return podNames(t, ns, stagepod.Selector+","+stagepod.LabelTable+"="+stagepod.TableLabel(table))
}

// assertNoStagePodsOf fails when a stage Pod of table is left in ns.
func assertNoStagePodsOf(t *testing.T, table string) {
	t.Helper()
	if pods := stagePodsOf(t, table); len(pods) > 0 {
		t.Errorf("stage pods of %s left behind: %v", table, pods)
	}
}

// listenRelay hands each loopback connection, with one to target, to forward.
var listenRelay = harness.ListenRelay
