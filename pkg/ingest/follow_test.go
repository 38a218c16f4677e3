package ingest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

func job(cond batchv1.JobConditionType, msg string) *batchv1.Job {
	j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "tb", Name: "ingest-job-1"}}
	if cond != "" {
		j.Status.Conditions = []batchv1.JobCondition{{Type: cond, Status: corev1.ConditionTrue, Reason: "R", Message: msg}}
	}
	return j
}

func runPod(phase corev1.PodPhase, waiting string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "tb", Name: "ingest-job-1-abc", Labels: map[string]string{"job-name": "ingest-job-1"}},
		Status:     corev1.PodStatus{Phase: phase},
	}
	if waiting != "" {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "ingestor", Image: "ingestor:x",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: waiting, Message: "not found"}}}}
	}
	return p
}

// oomPod is a run's pod whose ingestor the node killed at its 64Mi limit.
func oomPod() *corev1.Pod {
	p := runPod(corev1.PodFailed, "")
	p.Spec.Containers = []corev1.Container{{Name: "ingestor", Resources: corev1.ResourceRequirements{
		Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}}}}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "ingestor",
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137}}}}
	return p
}

func TestFollow(t *testing.T) {
	failedLog := "starting\nERROR - table cats already exists\n"
	tests := []struct {
		name        string
		objects     []runtime.Object
		log         string
		wantState   string
		wantSummary bool
		wantLines   int
		wantCode    int
		wantErr     string
	}{
		{
			name:      "clean success",
			objects:   []runtime.Object{job(batchv1.JobComplete, ""), runPod(corev1.PodSucceeded, "")},
			log:       cleanBanner,
			wantState: StateSucceeded, wantSummary: true, wantLines: 16,
		},
		{
			name:      "success with failures in the banner",
			objects:   []runtime.Object{job(batchv1.JobComplete, ""), runPod(corev1.PodSucceeded, "")},
			log:       prefixedBanner,
			wantState: StateSucceeded, wantSummary: true, wantLines: 13,
			wantCode: exitcode.RunFailed, wantErr: "7 records were skipped",
		},
		{
			name:      "job failed, error lines kept",
			objects:   []runtime.Object{job(batchv1.JobFailed, "BackoffLimitExceeded"), runPod(corev1.PodFailed, "")},
			log:       failedLog,
			wantState: StateFailed, wantLines: 2,
			wantCode: exitcode.RunFailed, wantErr: "ERROR - table cats already exists",
		},
		{
			name:      "job failed, the ingestor killed for memory",
			objects:   []runtime.Object{job(batchv1.JobFailed, "BackoffLimitExceeded"), oomPod()},
			log:       "starting\n",
			wantState: StateFailed, wantLines: 1,
			wantCode: exitcode.RunFailed, wantErr: "killed for memory (OOMKilled at its memory limit of 64Mi)",
		},
		{
			name:      "success without a banner",
			objects:   []runtime.Object{job(batchv1.JobComplete, ""), runPod(corev1.PodSucceeded, "")},
			log:       "done\n",
			wantState: StateSucceeded, wantLines: 1,
			wantCode: exitcode.RunFailed, wantErr: "no summary",
		},
		{
			name:      "image cannot be pulled",
			objects:   []runtime.Object{job("", ""), runPod(corev1.PodPending, "ErrImagePull")},
			wantState: StateFailed,
			wantCode:  exitcode.RunFailed, wantErr: "cannot pull image ingestor:x",
		},
		{
			name:      "job gone",
			wantState: StateUnknown,
			wantCode:  exitcode.RunFailed, wantErr: "does not exist",
		},
		{
			name:      "failed before any pod",
			objects:   []runtime.Object{job(batchv1.JobFailed, "DeadlineExceeded")},
			wantState: StateFailed,
			wantCode:  exitcode.RunFailed, wantErr: "DeadlineExceeded",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(tt.objects...)
			client.PrependReactor("get", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
				if a.GetSubresource() != "log" {
					return false, nil, nil
				}
				return true, &runtime.Unknown{Raw: []byte(tt.log)}, nil
			})
			var lines []string
			res, err := Follow(context.Background(), client, FollowOptions{Namespace: "tb", Job: "ingest-job-1",
				StartTimeout: time.Second, Poll: 10 * time.Millisecond, OnLine: func(l string) { lines = append(lines, l) }})
			if err != nil {
				t.Fatal(err)
			}
			if res.State != tt.wantState {
				t.Errorf("state %q, want %q (%s)", res.State, tt.wantState, res.Reason)
			}
			if (res.Summary != nil) != tt.wantSummary {
				t.Errorf("summary %+v, want one: %v", res.Summary, tt.wantSummary)
			}
			if len(lines) != tt.wantLines {
				t.Errorf("%d lines streamed, want %d", len(lines), tt.wantLines)
			}
			rerr := res.Err("ingest-job-1")
			if code := exitcode.Of(rerr); code != tt.wantCode {
				t.Errorf("exit code %d, want %d (%v)", code, tt.wantCode, rerr)
			}
			if tt.wantErr != "" && (rerr == nil || !strings.Contains(rerr.Error(), tt.wantErr)) {
				t.Errorf("error %v, want %q", rerr, tt.wantErr)
			}
		})
	}
}

func TestFollowStartTimeout(t *testing.T) {
	p := runPod(corev1.PodPending, "")
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/1 nodes are available"}}
	client := fake.NewClientset(job("", ""), p)
	res, err := Follow(context.Background(), client, FollowOptions{Namespace: "tb", Job: "ingest-job-1", StartTimeout: 50 * time.Millisecond, Poll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	want := &Result{State: StateUnknown, Reason: "the run's pod did not start within 50ms: pod ingest-job-1-abc is not scheduled (Unschedulable): 0/1 nodes are available"}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestFollowInterrupted(t *testing.T) {
	client := fake.NewClientset(job("", ""), runPod(corev1.PodPending, ""))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err := Follow(ctx, client, FollowOptions{Namespace: "tb", Job: "ingest-job-1", StartTimeout: time.Minute, Poll: 5 * time.Millisecond})
	if err == nil || ctx.Err() == nil {
		t.Fatalf("err = %v, want the context's error", err)
	}
}
