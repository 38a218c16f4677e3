// Package podexec runs programs in a Pod over pods/exec and delivers the
// stage agent into it.
package podexec

import (
	"context"
	"io"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	kexec "k8s.io/kubectl/pkg/cmd/exec"
)

// Runner runs a command in the stage Pod. Tests replace it.
type Runner interface {
	Run(ctx context.Context, command []string, stdin io.Reader, stdout, stderr io.Writer) error
}

// PodExec runs commands through pods/exec with kubectl's executor:
// WebSocket first, SPDY when the apiserver cannot upgrade.
type PodExec struct {
	Client    kubernetes.Interface
	Config    *rest.Config
	Namespace string
	Pod       string
	Container string
	Executor  kexec.RemoteExecutor
}

// GetPod returns the Pod the commands run in (to explain an agent that was
// killed).
func (p *PodExec) GetPod(ctx context.Context) (*corev1.Pod, error) {
	return p.Client.CoreV1().Pods(p.Namespace).Get(ctx, p.Pod, metav1.GetOptions{})
}

// Run implements Runner.
func (p *PodExec) Run(ctx context.Context, command []string, stdin io.Reader, stdout, stderr io.Writer) error {
	req := p.Client.CoreV1().RESTClient().Post().
		Resource("pods").Namespace(p.Namespace).Name(p.Pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: p.Container,
			Command:   command,
			Stdin:     stdin != nil,
			Stdout:    stdout != nil,
			Stderr:    stderr != nil,
		}, scheme.ParameterCodec)
	ex := p.Executor
	if ex == nil {
		ex = &kexec.DefaultRemoteExecutor{}
	}
	return ex.ExecuteWithContext(ctx, req.URL(), p.Config, stdin, stdout, stderr, false, nil)
}
