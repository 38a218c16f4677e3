package stagepod

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/tracebloc/kubectl-tracebloc/pkg/podexec"
)

// Kind is what a Pod of the plugin is for: it names the Pod, sets its
// component label, and is the word its notes and warnings use.
type Kind int

const (
	// KindStage is a push's stage Pod: named after its table, sized for
	// its dataset.
	KindStage Kind = iota
	// KindHelper is a short-lived Pod of status, cleanup, verify or a
	// push's removal of its staged copy.
	KindHelper
)

// String is the kind as the messages say it ("stage pod x", "helper pod x").
func (k Kind) String() string {
	if k == KindHelper {
		return "helper"
	}
	return "stage"
}

// Base are the options every Pod of the plugin takes: where it runs, what
// it mounts, how long it may take, and the seams its caller hooks in.
type Base struct {
	Client    kubernetes.Interface
	Config    *rest.Config
	Namespace string
	PVC       string
	// ReadWriteOnce pins the Pod to the node that mounts the volume.
	ReadWriteOnce bool
	Image         string
	// Timeout bounds the wait for the Pod to run.
	Timeout time.Duration
	// CleanupTimeout bounds Close, which runs on a fresh context.
	CleanupTimeout time.Duration
	Version        string
	Note           func(format string, args ...any)
	Warn           func(format string, args ...any)
	// NewRunner replaces pods/exec (tests).
	NewRunner func(pod string) podexec.Runner
	// OnCreated is told the Pod's name before it is created: a caller that
	// must exit at once (a second Ctrl-C) can say how to delete it.
	OnCreated func(namespace, pod string)
}

// StartOptions describe one Pod to start.
type StartOptions struct {
	Kind Kind
	Base
	// Table is the table a stage Pod stages; helper Pods name none.
	Table string
	// Bytes is the dataset's size: a stage Pod's lifetime grows with it.
	Bytes int64
	// Holder is the Lease identity written on a stage Pod.
	Holder string
	// Purpose completes a helper Pod's "creating helper pod … to <purpose>".
	Purpose string
}

// Pod is a started Pod of the plugin and the stage agent delivered into it.
type Pod struct {
	Name string
	// Agent is nil until the agent is delivered.
	Agent *podexec.RemoteAgent
	o     StartOptions
}

// helperTable names helper Pods; it is no table name a push can use.
const helperTable = "helper"

// Start creates the Pod, waits for it to run and delivers the stage agent.
// Whenever the Pod may exist, the *Pod comes back, with the error if one
// step failed: the caller closes it. An error of the delivery is marked
// (see AgentFailed); the others are the apiserver's or the wait's.
func Start(ctx context.Context, o StartOptions) (*Pod, error) {
	p, err := create(ctx, o)
	if err != nil {
		return p, err
	}
	if _, err := WaitRunning(ctx, o.Client, o.Namespace, p.Name, o.Timeout); err != nil {
		return p, err
	}
	return p, p.Deliver(ctx)
}

func create(ctx context.Context, o StartOptions) (*Pod, error) {
	node := ""
	if o.ReadWriteOnce {
		n, err := MountingNode(ctx, o.Client, o.Namespace, o.PVC)
		if err != nil {
			return nil, err
		}
		node = n
	}
	po := PodOptions{Namespace: o.Namespace, Table: o.Table, Image: o.Image, PVC: o.PVC, Suffix: utilrand.String(5), Bytes: o.Bytes,
		Node: node, CreatedBy: "kubectl-tracebloc " + o.Version, Holder: o.Holder, Now: time.Now()}
	if o.Kind == KindHelper {
		po.Table, po.Component, po.Holder = helperTable, ComponentHelperPod, "helper"
	}
	pod := BuildPod(po)
	if o.Note != nil {
		if o.Kind == KindHelper {
			o.Note("creating helper pod %s to %s", pod.Name, o.Purpose)
		} else {
			o.Note("creating stage pod %s in namespace %s", pod.Name, o.Namespace)
		}
	}
	if o.OnCreated != nil {
		o.OnCreated(o.Namespace, pod.Name)
	}
	p := &Pod{Name: pod.Name, o: o}
	if _, err := Create(ctx, o.Client, pod); err != nil {
		// Cut off mid-request (Ctrl-C, a timeout), the Pod may exist all
		// the same: hand it back so the caller deletes it.
		var status apierrors.APIStatus
		if ctx.Err() != nil || !errors.As(err, &status) {
			return p, err
		}
		return nil, err
	}
	return p, nil
}

// Deliver starts the stage agent in the running Pod, unless it already
// runs there.
func (p *Pod) Deliver(ctx context.Context) error {
	if p.Agent != nil {
		return nil
	}
	runner := Exec(p.o.Client, p.o.Config, p.o.Namespace, p.Name)
	if p.o.NewRunner != nil {
		runner = p.o.NewRunner(p.Name)
	}
	agent, err := podexec.Deliver(ctx, runner)
	if err != nil {
		return &agentError{err}
	}
	p.Agent = agent
	return nil
}

// agentError marks an error of the agent's delivery, its text unchanged.
type agentError struct{ err error }

func (e *agentError) Error() string { return e.err.Error() }
func (e *agentError) Unwrap() error { return e.err }

// AgentFailed reports whether err came from delivering the stage agent
// into a running Pod (rather than from creating the Pod or waiting for it).
func AgentFailed(err error) bool {
	var ae *agentError
	return errors.As(err, &ae)
}

// Close deletes the Pod on a fresh context, so it runs after Ctrl-C too,
// and returns once the Pod is gone. An idle Pod (its agent runs all ended)
// goes at once; any other is stopped in full, so no agent of it outlives
// the call. A failure is also a warning with the command that finishes
// the job.
func (p *Pod) Close(ctx context.Context, idle bool) error {
	return remove(ctx, p.o, p.Name, idle)
}

func remove(ctx context.Context, o StartOptions, pod string, idle bool) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.CleanupTimeout)
	defer cancel()
	del := Delete
	if idle {
		del = DeleteIdle
	}
	if err := del(ctx, o.Client, o.Namespace, pod); err != nil {
		if o.Warn != nil {
			o.Warn("could not delete %s pod %s: %v; delete it with: %s", o.Kind, pod, err, DeleteCommand(o.Namespace, pod))
		}
		return err
	}
	if o.Note != nil && o.Kind == KindStage {
		o.Note("deleted stage pod %s", pod)
	}
	return nil
}

// RemoveStale deletes the stage Pods of earlier pushes of o.Table, those
// not of o.Holder: with the table's Lease held, none of them belongs to a
// live push, and one still running could keep writing into the partial
// copy this push resumes.
func RemoveStale(ctx context.Context, o StartOptions) {
	pods, err := o.Client.CoreV1().Pods(o.Namespace).List(ctx, metav1.ListOptions{
		LabelSelector: Selector + "," + LabelTable + "=" + TableLabel(o.Table)})
	if err != nil {
		return
	}
	for _, p := range pods.Items {
		if p.Annotations[AnnotationTable] != o.Table || p.Annotations[AnnotationHolder] == o.Holder {
			continue
		}
		if o.Note != nil {
			o.Note("deleting stage pod %s of an earlier push of %s that did not end cleanly", p.Name, o.Table)
		}
		_ = remove(ctx, o, p.Name, false)
	}
}

// DeleteCommand is the kubectl command that removes a Pod of the plugin by
// hand.
func DeleteCommand(namespace, pod string) string {
	return fmt.Sprintf("kubectl delete pod %s -n %s", pod, namespace)
}
