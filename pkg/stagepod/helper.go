package stagepod

import (
	"context"
	"fmt"

	"github.com/tracebloc/kubectl-tracebloc/pkg/podexec"
)

// HelperOptions describe a short-lived Pod that mounts the shared volume for
// status, cleanup and verify. The commands embed them.
type HelperOptions struct {
	Base
	// Purpose completes "creating helper pod … to <purpose>".
	Purpose string
}

// start are the StartOptions of the helper Pod.
func (o HelperOptions) start() StartOptions {
	return StartOptions{Kind: KindHelper, Base: o.Base, Purpose: o.Purpose}
}

// WithHelperPod runs fn with the stage agent in a helper Pod that mounts
// the shared volume (on the node that already mounts a ReadWriteOnce one),
// and deletes the Pod afterwards on a fresh context, warning when it cannot.
func WithHelperPod(ctx context.Context, o HelperOptions, fn func(pod string, agent *podexec.RemoteAgent) error) (err error) {
	p, err := Start(ctx, o.start())
	if p != nil {
		// Every agent run returned: none is left working in the Pod.
		// After a failure one may still be (a broken exec): the Pod is
		// stopped in full.
		defer func() { _ = p.Close(ctx, err == nil) }()
	}
	if AgentFailed(err) {
		return fmt.Errorf("starting the stage agent in helper pod %s: %w", p.Name, err)
	}
	if err != nil {
		return err
	}
	return fn(p.Name, p.Agent)
}
