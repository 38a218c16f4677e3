package stagepod

import (
	"context"
	"fmt"
	"time"

	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/tracebloc/kubectl-tracebloc/pkg/podexec"
)

// HelperOptions describe a short-lived Pod that mounts the shared volume for
// status and cleanup.
type HelperOptions struct {
	Client    kubernetes.Interface
	Config    *rest.Config
	Namespace string
	PVC       string
	// ReadWriteOnce pins the Pod to the node that mounts the volume.
	ReadWriteOnce  bool
	Image          string
	Timeout        time.Duration
	CleanupTimeout time.Duration
	Version        string
	// Purpose completes "creating helper pod … to <purpose>".
	Purpose string
	Note    func(format string, args ...any)
	Warn    func(format string, args ...any)
	// NewRunner replaces pods/exec (tests).
	NewRunner func(pod string) podexec.Runner
}

// helperTable names helper Pods; it is no table name a push can use.
const helperTable = "helper"

// WithHelperPod runs fn with the stage agent in a helper Pod that mounts
// the shared volume (on the node that already mounts a ReadWriteOnce one),
// and deletes the Pod afterwards on a fresh context, warning when it cannot.
func WithHelperPod(ctx context.Context, o HelperOptions, fn func(pod string, agent *podexec.Agent) error) error {
	node := ""
	if o.ReadWriteOnce {
		n, err := MountingNode(ctx, o.Client, o.Namespace, o.PVC)
		if err != nil {
			return err
		}
		node = n
	}
	pod := BuildPod(PodOptions{Namespace: o.Namespace, Table: helperTable, Component: ComponentHelperPod, Image: o.Image, PVC: o.PVC,
		Node: node, Suffix: utilrand.String(5), CreatedBy: "kubectl-tracebloc " + o.Version, Holder: "helper", Now: time.Now()})
	if o.Note != nil {
		o.Note("creating helper pod %s to %s", pod.Name, o.Purpose)
	}
	if _, err := Create(ctx, o.Client, pod); err != nil {
		return err
	}
	idle := false
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), o.CleanupTimeout)
		defer cancel()
		remove := Delete
		if idle {
			remove = DeleteIdle
		}
		if err := remove(dctx, o.Client, o.Namespace, pod.Name); err != nil && o.Warn != nil {
			o.Warn("could not delete helper pod %s: %v; delete it with: kubectl delete pod %s -n %s", pod.Name, err, pod.Name, o.Namespace)
		}
	}()
	if _, err := WaitRunning(ctx, o.Client, o.Namespace, pod.Name, o.Timeout); err != nil {
		return err
	}
	runner := Exec(o.Client, o.Config, o.Namespace, pod.Name)
	if o.NewRunner != nil {
		runner = o.NewRunner(pod.Name)
	}
	agent, err := podexec.Deliver(ctx, runner)
	if err != nil {
		return fmt.Errorf("starting the stage agent in helper pod %s: %w", pod.Name, err)
	}
	err = fn(pod.Name, agent)
	// Every agent run returned: none is left working in the Pod. After a
	// failure one may still be (a broken exec): the Pod is stopped in full.
	idle = err == nil
	return err
}
