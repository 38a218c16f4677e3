package cmd

import (
	"context"
	"time"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/tracebloc/kubectl-tracebloc/pkg/cluster"
)

// Timeouts shared by the commands that start Pods.
const (
	// podRunningTimeout is how long a stage or helper Pod may take to run
	// (--pod-running-timeout's default).
	podRunningTimeout = 2 * time.Minute
	// cleanupTimeout bounds the removal of what a command created, on a
	// fresh context even after Ctrl-C.
	cleanupTimeout = 30 * time.Second
)

// Clients are what a command resolves from the kubeconfig flags. Complete
// fills them; tests set Client (and Namespace) instead.
type Clients struct {
	Getter    genericclioptions.RESTClientGetter
	Client    kubernetes.Interface
	Config    *rest.Config
	Namespace string
}

// complete connects the way kubectl does, unless a client is set already.
func (c *Clients) complete() error {
	if c.Client != nil {
		return nil
	}
	conn, err := cluster.Connect(c.Getter, "")
	if err != nil {
		return err
	}
	c.Client, c.Config, c.Namespace = conn.Client, conn.Config, conn.Namespace
	return nil
}

// command is what every command's Options do, in this order: check the
// flags (no kubeconfig read, so a bad flag is reported first), build the
// clients, run.
type command interface {
	Validate() error
	Complete() error
	Run(ctx context.Context) error
}

// validateCompleteRun runs o's three steps, stopping at the first error.
func validateCompleteRun(ctx context.Context, o command) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if err := o.Complete(); err != nil {
		return err
	}
	return o.Run(ctx)
}
