package ingest

import (
	"context"
	"fmt"

	"k8s.io/client-go/kubernetes"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// AttachCommand is the command that follows a run again, from wherever the
// user left it.
func AttachCommand(job, namespace string) string {
	return fmt.Sprintf("kubectl tracebloc logs %s -n %s -f", job, namespace)
}

// AttachOptions say which run to follow, where its lines go, and what the
// user is told besides when they detach.
type AttachOptions struct {
	FollowOptions
	// Kept, when set, ends the detach message in parentheses: what the
	// caller left in place for the run (push: the staged copy).
	Kept string
}

// Attach follows a run to its end, as `logs -f` and a push both do. A
// cancelled ctx (Ctrl-C) detaches: the run goes on in the cluster, and the
// error (exit 130) says how to attach again. Any other error is the
// follow's.
func Attach(ctx context.Context, client kubernetes.Interface, o AttachOptions) (*Result, error) {
	res, err := Follow(ctx, client, o.FollowOptions)
	if ctx.Err() != nil {
		msg := fmt.Sprintf("detached from the ingestion run %s: it goes on in the cluster; attach again with: %s", o.Job, AttachCommand(o.Job, o.Namespace))
		if o.Kept != "" {
			msg += " (" + o.Kept + ")"
		}
		return res, exitcode.Errorf(exitcode.Interrupted, "%s", msg)
	}
	return res, err
}
