//go:build linux

package cmd

import (
	"context"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/ingest"
	"github.com/tracebloc/kubectl-tracebloc/pkg/lock"
	"github.com/tracebloc/kubectl-tracebloc/pkg/output"
)

// A run recorded on its table's Lease is listed with its table, as JSON and
// as text; logs of a name that is no run says how to list them.
func TestRunsAndLogsThroughOptions(t *testing.T) {
	created := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "tb", Name: "ingest-job-1", Labels: map[string]string{ingest.RunLabel: "key-1"},
		CreationTimestamp: metav1.NewTime(created)}}
	client := fake.NewClientset(job, record("cats", "image_classification"))
	ctx := context.Background()
	must(t, lock.RecordRun(ctx, client, "tb", "cats", "ingest-job-1", "key-1"))

	for _, tt := range []struct{ output, want string }{
		{"json", `{"namespace":"tb","runs":[{"table":"cats","key":"key-1","job":"ingest-job-1","namespace":"tb","state":"running","created":"2026-11-30T09:00:00Z"}],"exit_code":0,"schema_version":1}`},
		{"text", "cats   key-1  ingest-job-1  running  2m"},
	} {
		streams, _, out, _ := genericiooptions.NewTestIOStreams()
		o := &RunsOptions{Clients: Clients{Client: client, Namespace: "tb"}, Streams: streams, Output: output.Format(tt.output),
			Now: func() time.Time { return created.Add(2 * time.Minute) }}
		must(t, o.Validate())
		must(t, o.Complete())
		must(t, o.Run(ctx))
		if !strings.Contains(strings.Join(strings.Fields(out.String()), ""), strings.Join(strings.Fields(tt.want), "")) {
			t.Errorf("runs -o %s printed:\n%s\nwant it to hold %s", tt.output, out, tt.want)
		}
	}

	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	o := &LogsOptions{Clients: Clients{Client: client, Namespace: "tb"}, Streams: streams, Name: "dogs"}
	must(t, o.Complete())
	err := o.Run(ctx)
	if exitcode.Of(err) != exitcode.BadFlags || err == nil || !strings.Contains(err.Error(), "list them with kubectl tracebloc runs -n tb") {
		t.Errorf("logs dogs = %v, want exit 2 naming the runs command", err)
	}
}
