package ingest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tracebloc/kubectl-tracebloc/pkg/cluster"
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
	// StartTimeout bounds the wait for each of the Job's pods to start.
	StartTimeout time.Duration
	// OnLine receives each log line of the ingestor as it arrives.
	OnLine func(line string)
	// OnNote receives what the follow itself has to say: a retried pod, a
	// log cut after the Job ended.
	OnNote func(note string)
	// Poll spaces the checks on the pod and the Job; 0 means one second.
	Poll time.Duration
	// DrainGrace is how long a pod's log may stay silent once the Job has
	// ended before it is cut; 0 means DefaultDrainGrace.
	DrainGrace time.Duration
}

// DefaultDrainGrace is how long a log stream may stay silent after the Job
// ended.
const DefaultDrainGrace = 5 * time.Second

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

// Follow follows the run's Job to its end: it waits for a pod, streams its
// log, and when that pod ends with the Job not yet ended (the Job retries a
// failed pod), follows the next one. The last pod's banner and the Job's
// conditions decide the result. A log that neither ends nor sends for
// DrainGrace once the Job has ended is cut. Follow returns ctx's error when ctx
// ends first (the run goes on).
func Follow(ctx context.Context, client kubernetes.Interface, o FollowOptions) (*Result, error) {
	res, err := follow(ctx, client, o)
	if err == nil && res.State == StateFailed && res.Pod != "" {
		// The Job's condition says only that it gave up; the pod's own end
		// says why, when the kernel killed it.
		if p, gerr := client.CoreV1().Pods(o.Namespace).Get(ctx, res.Pod, metav1.GetOptions{}); gerr == nil {
			if why := podKilled(p); why != "" {
				res.Reason = why + "; " + res.Reason
			}
		}
	}
	return res, err
}

// podKilled explains an ingestor container that the node killed for memory,
// with its limit and what to do; "" for any other end.
func podKilled(p *corev1.Pod) string {
	for _, cs := range p.Status.ContainerStatuses {
		t := cs.State.Terminated
		if t == nil {
			t = cs.LastTerminationState.Terminated
		}
		if t == nil || t.Reason != "OOMKilled" {
			continue
		}
		limit := "its memory limit"
		for _, c := range p.Spec.Containers {
			if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok && c.Name == cs.Name {
				limit = "its memory limit of " + q.String()
			}
		}
		return fmt.Sprintf("the ingestor in pod %s was killed for memory (OOMKilled at %s): this dataset needs more memory than the jobs-manager gives an ingestion run; push it as several smaller tables, or have the cluster admin raise the ingestor's memory limit in the tracebloc client's Helm values", p.Name, limit)
	}
	return ""
}

func follow(ctx context.Context, client kubernetes.Interface, o FollowOptions) (*Result, error) {
	if o.Poll == 0 {
		o.Poll = time.Second
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	if o.DrainGrace == 0 {
		o.DrainGrace = DefaultDrainGrace
	}
	note := func(format string, args ...any) {
		if o.OnNote != nil {
			o.OnNote(fmt.Sprintf(format, args...))
		}
	}
	res := &Result{State: StateRunning}
	followed := map[string]bool{}
	for {
		pod, err := waitStarted(ctx, client, o, res, followed)
		if err != nil || res.State != StateRunning {
			return res, err
		}
		if res.Pod != "" {
			note("the ingestor's pod %s ended and Job %s retried it: following pod %s", res.Pod, o.Job, pod)
		}
		followed[pod] = true
		// Only the last pod's log speaks for the run.
		res.Pod, res.Summary, res.ErrorLines = pod, nil, nil
		var banner BannerParser
		ended, err := followLog(ctx, client, o, pod, func(line string) {
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
		})
		if s, ok := banner.Summary(); ok {
			res.Summary = &s
		}
		if err != nil {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			res.State, res.Reason = StateUnknown, fmt.Sprintf("reading the log of pod %s broke: %v", pod, err)
			return res, nil
		}
		if ended != nil {
			note("the log of pod %s stayed open and silent for %s after Job %s ended: stopped reading it", pod, o.DrainGrace, o.Job)
			// The Job may have retried the pod while its log stalled:
			// then the next pod's log speaks for the run.
			if pods, lerr := client.CoreV1().Pods(o.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + o.Job}); lerr == nil {
				if p := newest(unfollowed(pods.Items, followed)); p != nil && p.Status.Phase != corev1.PodPending {
					continue
				}
			}
			res.State, res.Reason = jobState(ended)
			if res.State == StateRunning {
				res.State, res.Reason = StateUnknown, fmt.Sprintf("Job %s does not exist in namespace %s (deleted, or its TTL ran out)", o.Job, o.Namespace)
			}
			return res, nil
		}
		retried, err := podOutcome(ctx, client, o, res, followed)
		if err != nil || !retried {
			return res, err
		}
	}
}

// waitStarted waits until the Job has a pod past Pending that was not
// followed yet. It sets res to a final state when the Job ends without one,
// or its pod cannot start.
func waitStarted(ctx context.Context, client kubernetes.Interface, o FollowOptions, res *Result, followed map[string]bool) (string, error) {
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
		if p := newest(unfollowed(pods.Items, followed)); p != nil {
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
			if len(followed) > 0 {
				why = fmt.Sprintf("no pod was created after pod %s ended", res.Pod)
			}
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

func unfollowed(pods []corev1.Pod, followed map[string]bool) []corev1.Pod {
	var out []corev1.Pod
	for _, p := range pods {
		if !followed[p.Name] {
			out = append(out, p)
		}
	}
	return out
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

// podOutcome waits, after the log of res.Pod ended, for the Job to record
// its end, and sets res from it. It reports retried when the Job goes on
// without that pod: the pod ended (or is gone) and the Job is not done, or
// the Job already made another pod.
func podOutcome(ctx context.Context, client kubernetes.Interface, o FollowOptions, res *Result, followed map[string]bool) (bool, error) {
	deadline := time.Now().Add(time.Minute)
	for {
		job, err := client.BatchV1().Jobs(o.Namespace).Get(ctx, o.Job, metav1.GetOptions{})
		if err != nil {
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			res.State, res.Reason = StateUnknown, fmt.Sprintf("reading Job %s: %v", o.Job, err)
			return false, nil
		}
		if state, reason := jobState(job); state != StateRunning {
			res.State, res.Reason = state, reason
			return false, nil
		}
		pods, err := client.CoreV1().Pods(o.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + o.Job})
		if err == nil {
			if len(unfollowed(pods.Items, followed)) > 0 {
				return true, nil
			}
			// A failed (or deleted) pod of a Job that goes on is retried;
			// a succeeded one ends the Job as soon as its controller
			// records it.
			failed := true
			for _, p := range pods.Items {
				if p.Name == res.Pod && p.Status.Phase != corev1.PodFailed {
					failed = false
				}
			}
			if failed {
				return true, nil
			}
		} else if ctx.Err() != nil {
			return false, ctx.Err()
		}
		if time.Now().After(deadline) {
			res.State, res.Reason = StateUnknown, fmt.Sprintf("the log of pod %s ended but Job %s records no end", res.Pod, o.Job)
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(o.Poll):
		}
	}
}

// logItem is one line of a log, or its end.
type logItem struct {
	line string
	end  bool
	err  error
}

// followLog streams the pod's log line by line until it ends. Meanwhile it
// checks the Job; once the Job has ended (or is gone), a log that sends
// nothing for DrainGrace is cut: ended is the ended Job in that case, one
// without conditions when it is gone. Lines already
// read are all handed to line before followLog returns.
func followLog(ctx context.Context, client kubernetes.Interface, o FollowOptions, pod string, line func(string)) (ended *batchv1.Job, err error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rc, err := client.CoreV1().Pods(o.Namespace).GetLogs(pod, &corev1.PodLogOptions{Follow: true}).Stream(sctx)
	if err != nil {
		return nil, apiErr(err, "get", "pods/log", o.Namespace)
	}
	defer rc.Close()
	items := make(chan logItem, 256)
	go func() {
		sc := bufio.NewScanner(rc)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			select {
			case items <- logItem{line: sc.Text()}:
			case <-sctx.Done():
				return
			}
		}
		select {
		case items <- logItem{end: true, err: sc.Err()}:
		case <-sctx.Done():
		}
	}()
	tick := time.NewTicker(o.Poll)
	defer tick.Stop()
	var silence *time.Timer // runs once the Job has ended
	defer func() {
		if silence != nil {
			silence.Stop()
		}
	}()
	var cut <-chan time.Time
	for {
		select {
		case it := <-items:
			if it.end {
				return nil, it.err
			}
			line(it.line)
			if silence != nil {
				// Still sending: only a silent log is cut.
				silence.Reset(o.DrainGrace)
			}
		case <-tick.C:
			if silence != nil {
				continue
			}
			// A failed check is left to the next tick: the log is what
			// is being followed, the Job only bounds it.
			job, jerr := client.BatchV1().Jobs(o.Namespace).Get(ctx, o.Job, metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(jerr):
				// Deleted, or its TTL ran out the moment it ended: it
				// will never show an end, so it counts as ended.
				ended = &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: o.Namespace, Name: o.Job}}
			case jerr == nil && JobState(job) != StateRunning:
				ended = job
			}
			if ended != nil {
				silence = time.NewTimer(o.DrainGrace)
				cut = silence.C
			}
		case <-cut:
			cancel()
			_ = rc.Close()
			for {
				select {
				case it := <-items:
					if it.end && it.err == nil {
						return nil, nil // it ended by itself after all
					}
					if it.end {
						return ended, nil // the error of our own cut
					}
					line(it.line)
				default:
					return ended, nil
				}
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func isErrorLine(line string) bool {
	for _, m := range []string{"ERROR", "Error:", "error:", "Traceback", "Exception", "CRITICAL", "❌ "} {
		if strings.Contains(line, m) && !strings.Contains(line, "Failed DB Insertion:") && !strings.Contains(line, "Failed to Send to API:") {
			return true
		}
	}
	return false
}

// apiErr is cluster.APIError for a follow: what it cannot place (the run's
// state stays unknown) exits 9.
func apiErr(err error, verb, resource, namespace string) error {
	mapped := cluster.APIError(err, verb, resource, namespace)
	var coded *exitcode.Error
	if !errors.As(mapped, &coded) {
		return exitcode.Wrap(exitcode.RunFailed, mapped)
	}
	return mapped
}
