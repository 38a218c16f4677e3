package stagepod

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/utils/ptr"

	"github.com/tracebloc/kubectl-tracebloc/pkg/cluster"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// ErrPodGone is a stage Pod deleted by someone else while it started.
var ErrPodGone = errors.New("deleted while starting")

// Create creates pod. Admission refusals and quota are staging failures
// (exit 7); other refusals are missing permissions (exit 5).
func Create(ctx context.Context, client kubernetes.Interface, pod *corev1.Pod) (*corev1.Pod, error) {
	created, err := client.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err == nil {
		return created, nil
	}
	msg := err.Error()
	switch {
	case apierrors.IsForbidden(err) && strings.Contains(msg, "PodSecurity"):
		return nil, exitcode.Errorf(exitcode.Staging, "the namespace's Pod Security admission refused the stage pod: %v", err)
	case apierrors.IsForbidden(err) && strings.Contains(msg, "exceeded quota"):
		return nil, exitcode.Errorf(exitcode.Staging, "a ResourceQuota refused the stage pod (%s): %v", resourcesAsked(), err)
	case apierrors.IsForbidden(err) && (strings.Contains(msg, " usage per ") || strings.Contains(msg, "limit to request ratio")):
		// The LimitRange admission plugin: the namespace's limits, not a
		// missing permission.
		return nil, exitcode.Errorf(exitcode.Staging, "a LimitRange of namespace %s refused the stage pod (%s): %v: ask a cluster admin to let a Pod's container reach those limits", pod.Namespace, resourcesAsked(), err)
	case apierrors.IsForbidden(err) && strings.Contains(msg, "admission webhook"):
		return nil, exitcode.Errorf(exitcode.Staging, "an admission webhook refused the stage pod: %v", err)
	case apierrors.IsInvalid(err):
		return nil, exitcode.Errorf(exitcode.Staging, "the apiserver refused the stage pod as invalid: %v", err)
	}
	return nil, cluster.APIError(err, "create", "pods", pod.Namespace)
}

// WaitRunning watches the Pod until its container runs, it fails, or timeout
// passes. A Pod that cannot start is explained from its status and events.
func WaitRunning(ctx context.Context, client kubernetes.Interface, namespace, name string, timeout time.Duration) (*corev1.Pod, error) {
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	selector := fields.OneTermEqualSelector("metadata.name", name).String()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = selector
			return client.CoreV1().Pods(namespace).List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = selector
			return client.CoreV1().Pods(namespace).Watch(ctx, o)
		},
	}
	var last *corev1.Pod
	var fatal error
	_, err := watchtools.UntilWithSync(wctx, lw, &corev1.Pod{}, nil, func(ev watch.Event) (bool, error) {
		if ev.Type == watch.Deleted {
			return false, exitcode.Wrap(exitcode.Staging, fmt.Errorf("stage pod %s: %w", name, ErrPodGone))
		}
		pod, ok := ev.Object.(*corev1.Pod)
		if !ok {
			return false, nil
		}
		last = pod
		done, err := started(pod)
		if err != nil {
			fatal = err
		}
		return done, err
	})
	switch {
	case err == nil:
		return last, nil
	case fatal != nil:
		return nil, fatal
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case wait.Interrupted(err) || wctx.Err() != nil:
		return nil, exitcode.Errorf(exitcode.Staging, "stage pod %s did not start within %s: %s", name, timeout, Explain(ctx, client, last))
	}
	var coded *exitcode.Error
	if errors.As(err, &coded) {
		return nil, err
	}
	return nil, exitcode.Errorf(exitcode.Staging, "waiting for stage pod %s: %v", name, err)
}

// started reports whether every container of the Pod runs, or why one never will.
func started(pod *corev1.Pod) (bool, error) {
	switch pod.Status.Phase {
	case corev1.PodRunning:
		running := len(pod.Status.ContainerStatuses) > 0
		for _, cs := range pod.Status.ContainerStatuses {
			running = running && cs.State.Running != nil
		}
		if running {
			return true, nil
		}
	case corev1.PodFailed, corev1.PodSucceeded:
		return false, exitcode.Errorf(exitcode.Staging, "stage pod %s ended before the copy (%s): %s", pod.Name, pod.Status.Phase, podReason(pod))
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil && permanentWaiting[w.Reason] != "" {
			return false, exitcode.Errorf(exitcode.Staging, "stage pod %s cannot start: %s: %s (%s)", pod.Name, permanentWaiting[w.Reason], w.Message, w.Reason)
		}
	}
	return false, nil
}

// permanentWaiting are container states that will not fix themselves.
var permanentWaiting = map[string]string{
	"ErrImagePull":               "the stage image cannot be pulled; pass --stage-image (or set TRACEBLOC_STAGE_IMAGE) to an image the nodes can pull, e.g. from your mirror",
	"ImagePullBackOff":           "the stage image cannot be pulled; pass --stage-image (or set TRACEBLOC_STAGE_IMAGE) to an image the nodes can pull, e.g. from your mirror",
	"InvalidImageName":           "the stage image name is invalid; check --stage-image",
	"CreateContainerConfigError": "the container runtime refused the stage container's configuration",
	"CreateContainerError":       "the container runtime could not create the stage container",
	"RunContainerError":          "the container runtime could not run the stage container",
}

func podReason(pod *corev1.Pod) string {
	if pod.Status.Message != "" {
		return pod.Status.Message
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if t := cs.State.Terminated; t != nil {
			return fmt.Sprintf("container exited %d (%s) %s", t.ExitCode, t.Reason, t.Message)
		}
	}
	return string(pod.Status.Reason)
}

// Delete deletes the Pod and waits until it is gone: its container is
// stopped first, so nothing the Pod ran outlives the call. NotFound is fine:
// the Pod is already gone.
func Delete(ctx context.Context, client kubernetes.Interface, namespace, name string) error {
	return deletePod(ctx, client, namespace, name, 1)
}

// DeleteIdle deletes a Pod whose every agent run has ended: nothing in it
// works on the volume any more (its container only sleeps), so it goes
// without a grace period. The apiserver forgets it at once and the kubelet
// stops the container right after, instead of the push waiting a second and
// a half for the graceful stop.
func DeleteIdle(ctx context.Context, client kubernetes.Interface, namespace, name string) error {
	return deletePod(ctx, client, namespace, name, 0)
}

func deletePod(ctx context.Context, client kubernetes.Interface, namespace, name string, grace int64) error {
	// The apiserver may be away for a moment (a restart): keep trying until
	// ctx ends.
	for {
		err := client.CoreV1().Pods(namespace).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To(grace)})
		if err == nil || apierrors.IsNotFound(err) {
			break
		}
		if apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-time.After(500 * time.Millisecond):
		}
	}
	for {
		_, err := client.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stage pod %s is still terminating: %w", name, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// MountingNode returns the node of a running Pod that mounts pvc, or "" when
// none does. A ReadWriteOnce volume can only be mounted again on that node.
func MountingNode(ctx context.Context, client kubernetes.Interface, namespace, pvc string) (string, error) {
	pods, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{FieldSelector: "status.phase=Running"})
	if err != nil {
		return "", cluster.APIError(err, "list", "pods", namespace)
	}
	for _, p := range pods.Items {
		if p.Spec.NodeName == "" || p.DeletionTimestamp != nil {
			continue
		}
		for _, v := range p.Spec.Volumes {
			if v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == pvc {
				return p.Spec.NodeName, nil
			}
		}
	}
	return "", nil
}
