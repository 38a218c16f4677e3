package ingest

import (
	"context"
	"errors"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// TestAttachDetachesOnCtrlC: a cancelled follow is a detach, exit 130, with
// the command that attaches again and what the caller kept for the run;
// logs and push print the same words.
func TestAttachDetachesOnCtrlC(t *testing.T) {
	for _, tc := range []struct {
		kept, want string
	}{
		{"", "detached from the ingestion run ingest-job-1: it goes on in the cluster; attach again with: kubectl tracebloc logs ingest-job-1 -n tb -f"},
		{"the staged copy is kept", "detached from the ingestion run ingest-job-1: it goes on in the cluster; attach again with: kubectl tracebloc logs ingest-job-1 -n tb -f (the staged copy is kept)"},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := Attach(ctx, fake.NewClientset(), AttachOptions{Kept: tc.kept, FollowOptions: FollowOptions{Namespace: "tb", Job: "ingest-job-1"}})
		if exitcode.Of(err) != exitcode.Interrupted || err.Error() != tc.want {
			t.Errorf("err = %v (exit %d), want exit 130 with %q", err, exitcode.Of(err), tc.want)
		}
	}
}

// TestFollowAPIErrorsMapLikeTheOthers: a follow's API error is mapped as
// every other call's (cluster.APIError); only what that leaves unplaced
// exits 9. Before, every error but Forbidden exited 9, a 401 too.
func TestFollowAPIErrorsMapLikeTheOthers(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
	}{
		{apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "p", errors.New("no")), exitcode.Permission},
		{apierrors.NewUnauthorized("expired"), exitcode.Local},
		{errors.New("the log stream broke"), exitcode.RunFailed},
	} {
		if got := exitcode.Of(apiErr(tc.err, "get", "pods", "tb")); got != tc.code {
			t.Errorf("%v: exit %d, want %d", tc.err, got, tc.code)
		}
	}
}
