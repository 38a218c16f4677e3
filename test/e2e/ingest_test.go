//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The jobs-manager stand-in of the fixture (hack/localcluster/README.md)
// switches faults on by the table's prefix.
const (
	jobsManagerDeployment = "tracebloc-jobs-manager"
	authzConfigMap        = "tracebloc-ingestion-authz"
	runLabel              = "tracebloc.io/ingestion-run"
)

// runReport is the part of -o json the ingestion tests read.
type runReport struct {
	Status        string `json:"status"`
	StagedRemoved bool   `json:"staged_removed"`
	Error         string `json:"error"`
	ExitCode      int    `json:"exit_code"`
	Run           *struct {
		Job     string `json:"job"`
		Key     string `json:"key"`
		Replay  bool   `json:"replay"`
		State   string `json:"state"`
		Summary *struct {
			Total    int    `json:"total"`
			Inserted int    `json:"inserted"`
			Skipped  int    `json:"skipped"`
			Dest     string `json:"destination_table"`
		} `json:"summary"`
	} `json:"run"`
}

func ingestPush(t *testing.T, table string, extra ...string) (result, runReport) {
	t.Helper()
	return ingestDir(t, smallDataset(t), table, extra...)
}

// ingestDir pushes dir through the run.
func ingestDir(t *testing.T, dir, table string, extra ...string) (result, runReport) {
	t.Helper()
	var rep runReport
	r := runJSON(t, &rep, append([]string{"push", dir, "--table", table, "-n", ns, "-o", "json"}, extra...)...)
	return r, rep
}

// runJSON runs the plugin as a push that ingests (ingestCmd) and decodes
// the one JSON object it prints on stdout into rep.
func runJSON(t *testing.T, rep any, args ...string) result {
	t.Helper()
	cmd := ingestCmd(nil, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if jerr := json.Unmarshal(stdout.Bytes(), rep); jerr != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", jerr, r)
	}
	return r
}

// forgetTable removes everything a run of table leaves: the staged and the
// ingested copy, and the runs' Jobs.
func forgetTable(t *testing.T, table string) {
	t.Helper()
	removeStaged(t, table)
	clean := func() {
		inReader(t, `rm -rf "/data/shared/$1"`, table)
	}
	clean()
	t.Cleanup(clean)
}

func ingestedSums(t *testing.T, table string) map[string]string {
	t.Helper()
	out := inReader(t, `cd "/data/shared/$1" 2>/dev/null || exit 0; find . -type f | sort`, table)
	files := map[string]string{}
	for _, l := range strings.Fields(out) {
		files[strings.TrimPrefix(l, "./")] = "present"
	}
	return files
}

func runJobs(t *testing.T, key string) []string {
	t.Helper()
	jobs, err := client.BatchV1().Jobs(ns).List(context.Background(), metav1.ListOptions{LabelSelector: runLabel + "=" + key})
	must(t, err)
	var names []string
	for _, j := range jobs.Items {
		names = append(names, j.Name)
	}
	return names
}

func TestIngestCleanRun(t *testing.T) {
	const table = "e2e_ing_clean"
	forgetTable(t, table)
	r, rep := ingestPush(t, table, "--keep-staged")
	if r.code != 0 || rep.Status != "ingested" || rep.Run == nil || rep.Run.State != "succeeded" {
		t.Fatalf("want an ingested run:\n%s", r)
	}
	if s := rep.Run.Summary; s == nil || s.Total != 20 || s.Inserted != 20 || s.Skipped != 0 || s.Dest != table {
		t.Errorf("summary %+v", rep.Run.Summary)
	}
	if strings.Contains(r.stdout+r.stderr, "Bearer") {
		t.Errorf("the token's header shows in the output")
	}
	files := ingestedSums(t, table)
	if len(files) != 21 || files["labels.csv"] == "" {
		t.Errorf("ingested copy under /data/shared/%s: %v", table, files)
	}
	if len(stagedSums(t, table)) != 21 {
		t.Errorf("--keep-staged did not keep the staged copy")
	}
	if jobs := runJobs(t, rep.Run.Key); len(jobs) != 1 || jobs[0] != rep.Run.Job {
		t.Errorf("jobs of key %s: %v, want [%s]", rep.Run.Key, jobs, rep.Run.Job)
	}
	runs := runPlugin(t, nil, "runs", "-n", ns)
	if !strings.Contains(runs.stdout, rep.Run.Job) || !strings.Contains(runs.stdout, table) || !strings.Contains(runs.stdout, "succeeded") {
		t.Errorf("runs does not list the run:\n%s", runs)
	}
	logs := runPlugin(t, nil, "logs", table, "-n", ns)
	if logs.code != 0 || !strings.Contains(logs.stderr, "INGESTION SUMMARY") || !strings.Contains(logs.stdout, "ingested 20 of 20 records") {
		t.Errorf("logs of the finished run:\n%s", logs)
	}
	assertNoStagePods(t, ns)
}

func TestIngestFailingRunKeepsStaged(t *testing.T) {
	const table = "fault_fail_e2e"
	forgetTable(t, table)
	r, rep := ingestPush(t, table)
	if r.code != 9 || !strings.Contains(rep.Error, "simulated failure") || !strings.Contains(rep.Error, "staged copy is kept") {
		t.Fatalf("want exit 9 with the ingestor's reason:\n%s", r)
	}
	if rep.StagedRemoved || len(stagedSums(t, table)) != 21 {
		t.Errorf("the staged copy was not kept")
	}
}

// TestIngestRunKilledForMemory: the node kills the ingestor at its memory
// limit; the Job says only BackoffLimitExceeded, the push names the kill,
// the limit and what to do.
func TestIngestRunKilledForMemory(t *testing.T) {
	const table = "fault_memory_e2e"
	forgetTable(t, table)
	// A killed ingestor leaves its table's lock behind (stale after 12 h):
	// gone before and after, so that the test can run again.
	dropLock := func() { inReader(t, `rm -f "/data/shared/.tracebloc-ingest-$1.lock"`, table) }
	dropLock()
	t.Cleanup(dropLock)
	r, rep := ingestPush(t, table)
	if r.code != 9 || !strings.Contains(rep.Error, "was killed for memory (OOMKilled at its memory limit of 64Mi)") ||
		!strings.Contains(rep.Error, "smaller tables") || !strings.Contains(rep.Error, "staged copy is kept") {
		t.Fatalf("want exit 9 naming the kill for memory and the limit:\n%s", r)
	}
}

func TestIngestSkippedRecordsFail(t *testing.T) {
	const table = "fault_skip_e2e"
	forgetTable(t, table)
	r, rep := ingestPush(t, table)
	if r.code != 9 || !strings.Contains(rep.Error, "1 records were skipped") || rep.Run.Summary == nil || rep.Run.Summary.Skipped != 1 {
		t.Fatalf("want exit 9 for a run with a skipped record:\n%s", r)
	}
}

func TestIngestPodNeverStarts(t *testing.T) {
	const table = "fault_nostart_e2e"
	forgetTable(t, table)
	r, _ := ingestPush(t, table, "--run-start-timeout", "60s")
	if r.code != 9 || !strings.Contains(r.stderr, "cannot pull image") {
		t.Fatalf("want exit 9 naming the image pull:\n%s", r)
	}
}

func TestIngestRefusedByAuthz(t *testing.T) {
	const table = "e2e_ing_refused"
	forgetTable(t, table)
	ctx := context.Background()
	cm, err := client.CoreV1().ConfigMaps(ns).Get(ctx, authzConfigMap, metav1.GetOptions{})
	must(t, err)
	orig := cm.Data["ingestion-authz.yaml"]
	t.Cleanup(func() {
		cur, err := client.CoreV1().ConfigMaps(ns).Get(ctx, authzConfigMap, metav1.GetOptions{})
		if err == nil {
			cur.Data["ingestion-authz.yaml"] = orig
			_, _ = client.CoreV1().ConfigMaps(ns).Update(ctx, cur, metav1.UpdateOptions{})
		}
	})
	cm.Data["ingestion-authz.yaml"] = "allowed:\n- service_account: ingestor\n  namespace: tracebloc\n  table_prefixes: [only_this_]\n"
	_, err = client.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{})
	must(t, err)
	r, _ := ingestPush(t, table)
	if r.code != 5 || !strings.Contains(r.stderr, "may not ingest table "+table) {
		t.Fatalf("want exit 5 from the authz policy:\n%s", r)
	}
}

func scaleJobsManager(t *testing.T, replicas int32) {
	t.Helper()
	ctx := context.Background()
	s, err := client.AppsV1().Deployments(ns).GetScale(ctx, jobsManagerDeployment, metav1.GetOptions{})
	must(t, err)
	s.Spec.Replicas = replicas
	_, err = client.AppsV1().Deployments(ns).UpdateScale(ctx, jobsManagerDeployment, s, metav1.UpdateOptions{})
	must(t, err)
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=manager"})
		must(t, err)
		ready := 0
		for _, p := range pods.Items {
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue && p.DeletionTimestamp == nil {
					ready++
				}
			}
		}
		if int32(len(pods.Items)) == replicas && int32(ready) == replicas {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("the jobs-manager did not reach %d ready pods", replicas)
}

func TestIngestJobsManagerDown(t *testing.T) {
	const table = "e2e_ing_down"
	forgetTable(t, table)
	scaleJobsManager(t, 0)
	t.Cleanup(func() { scaleJobsManager(t, 1) })
	r, rep := ingestPush(t, table)
	if r.code != 8 || !strings.Contains(rep.Error, "no Running pod behind Service jobs-manager") {
		t.Fatalf("want exit 8 from the pre-flight:\n%s", r)
	}
	if got := stagedSums(t, table); len(got) != 0 {
		t.Errorf("something was staged: %v", got)
	}
}

func TestIngestJobsManagerGoneAfterStaging(t *testing.T) {
	// The stand-in drops the connection of a fault_gone_ submit unanswered.
	const table = "fault_gone_e2e"
	forgetTable(t, table)
	r, rep := ingestPush(t, table)
	if r.code != 8 || !strings.Contains(rep.Error, "staged copy is kept") {
		t.Fatalf("want exit 8 with the staged copy kept:\n%s", r)
	}
	if len(stagedSums(t, table)) != 21 {
		t.Errorf("the staged copy was not kept")
	}
}

func TestIngestIdempotencyKeyAttaches(t *testing.T) {
	const table = "e2e_ing_key"
	forgetTable(t, table)
	key := "e2e-key-" + time.Now().Format("150405.000")
	r1, rep1 := ingestPush(t, table, "--idempotency-key", key, "--detach")
	if r1.code != 0 || rep1.Status != "submitted" || rep1.Run == nil || rep1.Run.Replay {
		t.Fatalf("first push:\n%s", r1)
	}
	r2, rep2 := ingestPush(t, table, "--idempotency-key", key, "--keep-staged")
	if r2.code != 0 || rep2.Run == nil || !rep2.Run.Replay || rep2.Run.Job != rep1.Run.Job {
		t.Fatalf("second push did not attach to %s:\n%s", rep1.Run.Job, r2)
	}
	if diff := cmp.Diff([]string{rep1.Run.Job}, runJobs(t, key)); diff != "" {
		t.Errorf("jobs of the key (-want +got):\n%s", diff)
	}
}

func TestIngestStageOnlySubmitsNothing(t *testing.T) {
	const table = "e2e_ing_stageonly"
	forgetTable(t, table)
	r, rep := ingestPush(t, table, "--stage-only")
	if r.code != 0 || rep.Status != "staged" || rep.Run != nil {
		t.Fatalf("want staged and no run:\n%s", r)
	}
}

func TestIngestCtrlCDetachesAndLogsAttaches(t *testing.T) {
	const table = "fault_slow_e2e"
	forgetTable(t, table)
	cmd := ingestCmd(nil, "push", smallDataset(t), "--table", table, "-n", ns, "--keep-staged")
	var stdout, stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	must(t, cmd.Start())
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(stderr.String(), "processing, step 2") {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("the run never showed progress:\n%s", stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	must(t, cmd.Process.Signal(syscall.SIGINT))
	err := cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 130 || !strings.Contains(stderr.String(), "kubectl tracebloc logs") {
		t.Fatalf("want exit 130 with how to attach: %v\n%s", err, stderr.String())
	}
	runs := runPlugin(t, nil, "runs", "-n", ns)
	if !strings.Contains(runs.stdout, table) || !strings.Contains(runs.stdout, "running") {
		t.Errorf("the run did not go on:\n%s", runs)
	}
	logs := runPlugin(t, nil, "logs", table, "-n", ns, "-f")
	if logs.code != 0 || !strings.Contains(logs.stdout, "ingested 20 of 20 records") {
		t.Errorf("logs -f did not follow the run to its end:\n%s", logs)
	}
}

// lockedBuffer is a buffer the test reads while the plugin writes to it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestIngestTableAlreadyIngested: the ingestor never ingests into a table
// that exists, so a push to an ingested table stops with exit 6 before any
// file is sent, and says how to go on.
func TestIngestTableAlreadyIngested(t *testing.T) {
	const table = "e2e_ing_twice"
	forgetTable(t, table)
	if r, rep := ingestPush(t, table); r.code != 0 || rep.Status != "ingested" {
		t.Fatalf("first push:\n%s", r)
	}
	r, _ := ingestPush(t, table)
	rep := parseReport(t, r)
	if r.code != 6 || !strings.Contains(rep.Error, "already holds ingested data") || !strings.Contains(rep.Error, "--table") {
		t.Fatalf("want exit 6 naming the table and the way out:\n%s", r)
	}
	if rep.Transfer != nil {
		t.Errorf("files were sent to an ingested table: %+v", rep.Transfer)
	}
	if len(stagedSums(t, table)) != 0 {
		t.Errorf("a staged copy was made for an ingested table")
	}
	assertNoStagePods(t, ns)
}

// TestIngestRetriedPodIsFollowed: the stand-in's fault_retry_ Job has
// backoffLimit 1, its first pod fails and its second ingests. The push
// follows the Job through both pods, says once that the pod was retried,
// and the second pod's banner decides: exit 0.
func TestIngestRetriedPodIsFollowed(t *testing.T) {
	const table = "fault_retry_e2e"
	forgetTable(t, table)
	r, rep := ingestPush(t, table)
	if r.code != 0 || rep.Status != "ingested" || rep.Run == nil || rep.Run.State != "succeeded" {
		t.Fatalf("want an ingested run after one retry:\n%s", r)
	}
	if !strings.Contains(r.stderr, "simulated crash (fault_retry_)") {
		t.Errorf("the first pod's log was not shown:\n%s", r.stderr)
	}
	if n := strings.Count(r.stderr, "retried it: following pod"); n != 1 {
		t.Errorf("%d notes of a retried pod, want 1:\n%s", n, r.stderr)
	}
	if s := rep.Run.Summary; s == nil || s.Total != 20 || s.Inserted != 20 || s.Dest != table {
		t.Errorf("summary %+v, want the second pod's", rep.Run.Summary)
	}
	pods, err := client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "job-name=" + rep.Run.Job})
	must(t, err)
	phases := map[corev1.PodPhase]int{}
	for _, p := range pods.Items {
		phases[p.Status.Phase]++
	}
	if diff := cmp.Diff(map[corev1.PodPhase]int{corev1.PodFailed: 1, corev1.PodSucceeded: 1}, phases); diff != "" {
		t.Errorf("pods of Job %s (-want +got):\n%s", rep.Run.Job, diff)
	}
	if left := inReader(t, `ls -a /data/shared | grep -F ".ingest-standin-attempted-$1" || true`, rep.Run.Job); strings.TrimSpace(left) != "" {
		t.Errorf("the stand-in's retry marker is left on the volume: %s", left)
	}
	if !rep.StagedRemoved {
		t.Errorf("the staged copy of a clean run was not removed")
	}
	logs := runPlugin(t, nil, "logs", table, "-n", ns, "-f")
	if logs.code != 0 || !strings.Contains(logs.stdout, "ingested 20 of 20 records") {
		t.Errorf("logs -f of the finished run:\n%s", logs)
	}
}
