package ingest

import (
	"bufio"
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// Run states.
const (
	StateRunning   = "running"
	StateSucceeded = "succeeded"
	StateFailed    = "failed"
	StateUnknown   = "unknown"
)

// DefaultStartTimeout bounds the wait for a run's pod to start.
const DefaultStartTimeout = 5 * time.Minute

// FollowOptions say which run to follow and where its log lines go.
type FollowOptions struct {
	Namespace string
	Job       string
	// StartTimeout bounds the wait for the Job's pod to start.
	StartTimeout time.Duration
	// OnLine receives each log line of the ingestor as it arrives.
	OnLine func(line string)
	// Poll spaces the checks on the pod and the Job; 0 means one second.
	Poll time.Duration
}

// Result is how a run ended.
type Result struct {
	State   string   `json:"state"`
	Pod     string   `json:"pod,omitempty"`
	Summary *Summary `json:"summary,omitempty"`
	// Reason says why the run failed or its result is unknown.
	Reason string `json:"reason,omitempty"`
	// ErrorLines are the ingestor's own error lines, last ones kept.
	ErrorLines []string `json:"error_lines,omitempty"`
}

// Err is nil only for a run that succeeded with a clean summary; otherwise
// an exit-9 error naming why, with the ingestor's own error lines.
func (r *Result) Err(job string) error {
	var why []string
	switch {
	case r.State == StateSucceeded && r.Summary == nil:
		why = append(why, "the ingestor printed no summary, so its result is unknown")
	case r.State == StateSucceeded:
		why = append(why, r.Summary.Problems()...)
	case r.Reason != "":
		why = append(why, r.Reason)
	default:
		why = append(why, "its result is unknown")
	}
	if r.State == StateSucceeded && len(why) == 0 {
		return nil
	}
	if r.State != StateSucceeded && r.Summary != nil {
		why = append(why, r.Summary.Problems()...)
	}
	msg := fmt.Sprintf("the ingestion run %s did not succeed: %s", job, strings.Join(why, "; "))
	if len(r.ErrorLines) > 0 {
		msg += "\nthe ingestor said:\n  " + strings.Join(r.ErrorLines, "\n  ")
	}
	return exitcode.Errorf(exitcode.RunFailed, "%s", msg)
}

// maxErrorLines is how many of the ingestor's error lines a result keeps.
const maxErrorLines = 8

// Follow waits for the run's pod, streams its log to the end, and reads the
// Job's outcome. It returns ctx's error when ctx ends first (the run goes on).
func Follow(ctx context.Context, client kubernetes.Interface, o FollowOptions) (*Result, error) {
	if o.Poll == 0 {
		o.Poll = time.Second
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	res := &Result{State: StateRunning}
	pod, err := waitStarted(ctx, client, o, res)
	if err != nil || res.State != StateRunning {
		return res, err
	}
	res.Pod = pod
	var banner BannerParser
	if err := streamLog(ctx, client, o, pod, func(line string) {
		banner.Add(line)
		if isErrorLine(line) {
			res.ErrorLines = append(res.ErrorLines, strings.TrimSpace(line))
			if len(res.ErrorLines) > maxErrorLines {
				res.ErrorLines = res.ErrorLines[1:]
			}
		}
		if o.OnLine != nil {
			o.OnLine(line)
		}
	}); err != nil {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		res.State, res.Reason = StateUnknown, fmt.Sprintf("reading the log of pod %s broke: %v", pod, err)
		return res, nil
	}
	if s, ok := banner.Summary(); ok {
		res.Summary = &s
	}
	return res, jobOutcome(ctx, client, o, res)
}

// waitStarted waits until the Job has a pod past Pending. It sets res to a
// final state when the Job ends without one, or its pod cannot start.
func waitStarted(ctx context.Context, client kubernetes.Interface, o FollowOptions, res *Result) (string, error) {
	deadline := time.Now().Add(o.StartTimeout)
	pending := ""
	for {
		job, err := client.BatchV1().Jobs(o.Namespace).Get(ctx, o.Job, metav1.GetOptions{})
		if err != nil {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			if apierrors.IsNotFound(err) {
				res.State, res.Reason = StateUnknown, fmt.Sprintf("Job %s does not exist in namespace %s (deleted, or its TTL ran out)", o.Job, o.Namespace)
				return "", nil
			}
			return "", apiErr(err, "get", "jobs", o.Namespace)
		}
		pods, err := client.CoreV1().Pods(o.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + o.Job})
		if err != nil {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			return "", apiErr(err, "list", "pods", o.Namespace)
		}
		if p := newest(pods.Items); p != nil {
			if p.Status.Phase != corev1.PodPending {
				return p.Name, nil
			}
			if reason, fatal := podNotStarting(p); fatal {
				res.State, res.Pod, res.Reason = StateFailed, p.Name, reason
				return "", nil
			} else if reason != "" {
				pending = reason
			}
		} else if state, reason := jobState(job); state != StateRunning {
			res.State, res.Reason = state, reason
			return "", nil
		}
		if time.Now().After(deadline) {
			why := "no pod was created"
			if pending != "" {
				why = pending
			}
			res.State, res.Reason = StateUnknown, fmt.Sprintf("the run's pod did not start within %s: %s", o.StartTimeout, why)
			return "", nil
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(o.Poll):
		}
	}
}

// podNotStarting explains a Pending pod; fatal when it will not start by
// itself (an image that cannot be pulled, a broken container config).
func podNotStarting(p *corev1.Pod) (string, bool) {
	for _, cs := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		w := cs.State.Waiting
		if w == nil {
			continue
		}
		switch w.Reason {
		case "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull":
			return fmt.Sprintf("pod %s cannot pull image %s (%s): %s", p.Name, cs.Image, w.Reason, w.Message), true
		case "CreateContainerConfigError", "CreateContainerError", "RunContainerError":
			return fmt.Sprintf("pod %s cannot start container %s (%s): %s", p.Name, cs.Name, w.Reason, w.Message), true
		}
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			return fmt.Sprintf("pod %s is not scheduled (%s): %s", p.Name, c.Reason, c.Message), false
		}
	}
	return fmt.Sprintf("pod %s is Pending", p.Name), false
}

func newest(pods []corev1.Pod) *corev1.Pod {
	if len(pods) == 0 {
		return nil
	}
	sort.Slice(pods, func(i, j int) bool { return pods[i].CreationTimestamp.After(pods[j].CreationTimestamp.Time) })
	return &pods[0]
}

// jobState reads a Job's terminal conditions.
func jobState(job *batchv1.Job) (string, string) {
	for _, c := range job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete, batchv1.JobSuccessCriteriaMet:
			return StateSucceeded, ""
		case batchv1.JobFailed, batchv1.JobFailureTarget:
			return StateFailed, fmt.Sprintf("Job %s failed (%s): %s", job.Name, c.Reason, c.Message)
		}
	}
	return StateRunning, ""
}

// JobState is the state of a run's Job as its conditions tell it.
func JobState(job *batchv1.Job) string {
	s, _ := jobState(job)
	return s
}

// jobOutcome waits a bounded while for the Job controller to record the end
// of a pod whose log is finished.
func jobOutcome(ctx context.Context, client kubernetes.Interface, o FollowOptions, res *Result) error {
	deadline := time.Now().Add(time.Minute)
	for {
		job, err := client.BatchV1().Jobs(o.Namespace).Get(ctx, o.Job, metav1.GetOptions{})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			res.State, res.Reason = StateUnknown, fmt.Sprintf("reading Job %s: %v", o.Job, err)
			return nil
		}
		if state, reason := jobState(job); state != StateRunning {
			res.State, res.Reason = state, reason
			return nil
		}
		if time.Now().After(deadline) {
			res.State, res.Reason = StateUnknown, fmt.Sprintf("the log of pod %s ended but Job %s records no end", res.Pod, o.Job)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(o.Poll):
		}
	}
}

// streamLog follows the pod's log to its end, line by line.
func streamLog(ctx context.Context, client kubernetes.Interface, o FollowOptions, pod string, line func(string)) error {
	rc, err := client.CoreV1().Pods(o.Namespace).GetLogs(pod, &corev1.PodLogOptions{Follow: true}).Stream(ctx)
	if err != nil {
		return apiErr(err, "get", "pods/log", o.Namespace)
	}
	defer rc.Close()
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line(sc.Text())
	}
	return sc.Err()
}

func isErrorLine(line string) bool {
	for _, m := range []string{"ERROR", "Error:", "error:", "Traceback", "Exception", "CRITICAL", "❌ "} {
		if strings.Contains(line, m) && !strings.Contains(line, "Failed DB Insertion:") && !strings.Contains(line, "Failed to Send to API:") {
			return true
		}
	}
	return false
}

func apiErr(err error, verb, resource, namespace string) error {
	if apierrors.IsForbidden(err) {
		return exitcode.Errorf(exitcode.Permission,
			"missing permission: %s %s in namespace %s: ask a cluster admin to bind the Role in docs/rbac.yaml", verb, resource, namespace)
	}
	return exitcode.Wrap(exitcode.RunFailed, fmt.Errorf("%s %s in namespace %s: %w", verb, resource, namespace, err))
}
