package ingest

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/lock"
)

// Run is one ingestion run as `runs` lists it.
type Run struct {
	Table     string    `json:"table,omitempty"`
	Key       string    `json:"key"`
	Job       string    `json:"job"`
	Namespace string    `json:"namespace"`
	State     string    `json:"state"`
	Created   time.Time `json:"created"`
	Summary   *Summary  `json:"summary,omitempty"`
}

// ListRuns lists the ingestion runs of namespace, newest first. Finished
// runs carry the summary of their log when withSummary is set.
func ListRuns(ctx context.Context, client kubernetes.Interface, namespace string, withSummary bool) ([]Run, error) {
	jobs, err := client.BatchV1().Jobs(namespace).List(ctx, metav1.ListOptions{LabelSelector: RunLabel})
	if err != nil {
		return nil, apiErr(err, "list", "jobs", namespace)
	}
	tables := lock.Runs(ctx, client, namespace)
	runs := make([]Run, 0, len(jobs.Items))
	for i := range jobs.Items {
		j := &jobs.Items[i]
		r := Run{Table: tables[j.Name], Key: j.Labels[RunLabel], Job: j.Name, Namespace: namespace, State: JobState(j), Created: j.CreationTimestamp.Time}
		if withSummary && r.State != StateRunning {
			r.Summary = finishedSummary(ctx, client, namespace, j.Name)
		}
		runs = append(runs, r)
	}
	sort.Slice(runs, func(a, b int) bool { return runs[a].Created.After(runs[b].Created) })
	return runs, nil
}

// finishedSummary reads the banner from the log of a finished run's pod.
func finishedSummary(ctx context.Context, client kubernetes.Interface, namespace, job string) *Summary {
	pods, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + job})
	if err != nil {
		return nil
	}
	p := newest(pods.Items)
	if p == nil {
		return nil
	}
	rc, err := client.CoreV1().Pods(namespace).GetLogs(p.Name, &corev1.PodLogOptions{}).Stream(ctx)
	if err != nil {
		return nil
	}
	defer rc.Close()
	raw, err := io.ReadAll(io.LimitReader(rc, 16<<20))
	if err != nil {
		return nil
	}
	if s, ok := ParseBanner(string(raw)); ok {
		return &s
	}
	return nil
}

// FindRun resolves what a user names: a run's Job, its idempotency key, or
// a table (its latest run).
func FindRun(ctx context.Context, client kubernetes.Interface, namespace, name string) (*Run, error) {
	runs, err := ListRuns(ctx, client, namespace, false)
	if err != nil {
		return nil, err
	}
	for _, match := range []func(Run) bool{
		func(r Run) bool { return r.Job == name },
		func(r Run) bool { return r.Key == name },
		func(r Run) bool { return r.Table == name },
	} {
		for i := range runs {
			if match(runs[i]) {
				return &runs[i], nil
			}
		}
	}
	return nil, exitcode.Errorf(exitcode.BadFlags,
		"no ingestion run %q in namespace %s (by job, key or table): list them with kubectl tracebloc runs -n %s", name, namespace, namespace)
}

// PrintLog writes the log of a run's newest pod so far, line by line.
func PrintLog(ctx context.Context, client kubernetes.Interface, namespace, job string, line func(string)) error {
	pods, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + job})
	if err != nil {
		return apiErr(err, "list", "pods", namespace)
	}
	p := newest(pods.Items)
	if p == nil || p.Status.Phase == corev1.PodPending {
		return nil
	}
	return streamLogOnce(ctx, client, namespace, p.Name, line)
}

func streamLogOnce(ctx context.Context, client kubernetes.Interface, namespace, pod string, line func(string)) error {
	rc, err := client.CoreV1().Pods(namespace).GetLogs(pod, &corev1.PodLogOptions{}).Stream(ctx)
	if err != nil {
		return apiErr(err, "get", "pods/log", namespace)
	}
	defer rc.Close()
	raw, err := io.ReadAll(rc)
	for _, l := range strings.Split(strings.TrimRight(string(raw), "\n"), "\n") {
		if l != "" {
			line(l)
		}
	}
	if err != nil {
		return fmt.Errorf("reading the log of pod %s: %w", pod, err)
	}
	return nil
}

// Age renders how long ago t was, as kubectl does (5s, 3m, 2h, 4d).
func Age(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
