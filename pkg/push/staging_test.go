package push

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/podexec"
	"github.com/tracebloc/kubectl-tracebloc/pkg/transfer"
)

// silentRunner is a stage Pod whose exec ends at once, successfully, with no
// output at all.
type silentRunner struct{}

func (silentRunner) Run(context.Context, []string, io.Reader, io.Writer, io.Writer) error { return nil }

// runningPods makes every Pod the fake creates run at once.
func runningPods(client *fake.Clientset) {
	client.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		pod := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		pod.Status.Phase = corev1.PodRunning
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "stage", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
		return false, nil, nil
	})
}

func TestAnExecWithNoOutputFailsWithoutPanicking(t *testing.T) {
	// The fake clientset cannot serve watch-list streams; client-go reads
	// this gate once, at the first watch of the test binary.
	t.Setenv("KUBE_FEATURE_WatchListClient", "false")
	client := fake.NewClientset(chart("tb")...)
	allowAllBut(client, "")
	runningPods(client)
	o, _ := options(t, client, nil)
	o.DryRun, o.Stage.Retries = false, 1
	o.Stage.Image, o.Stage.PodRunningTimeout, o.Stage.CleanupTimeout = "alpine", 5*time.Second, 5*time.Second
	o.Hooks.NewRunner = func(*Connection, string) podexec.Runner { return silentRunner{} }
	var r *Report
	var err error
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("push panicked on an exec with no output: %v", p)
			}
		}()
		r, err = o.run(context.Background())
		_ = fmt.Sprint(err) // printing the error is what main does next
	}()
	if exitcode.Of(err) != exitcode.Staging || r.ExitCode != exitcode.Staging {
		t.Fatalf("exit = %d (report %d): %v, want 7", exitcode.Of(err), r.ExitCode, err)
	}
	if !strings.Contains(r.Error, "did not start") || !strings.Contains(r.Error, "no output") {
		t.Errorf("report error %q does not say the stage agent did not start and the pod gave no output", r.Error)
	}
}

func TestRetriable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{name: "broken stream", err: &transfer.StreamError{Err: errors.New("connection reset by peer")}, want: true},
		{name: "network", err: &url.Error{Op: "Get", URL: "https://198.18.0.1:6443/api", Err: errors.New("connection refused")}, want: true},
		{name: "unknown authority", err: &url.Error{Op: "Get", URL: "https://198.18.0.1:6443/api", Err: &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}}},
		{name: "expired certificate", err: &url.Error{Op: "Get", URL: "https://198.18.0.1:6443/api", Err: x509.CertificateInvalidError{Reason: x509.Expired}}},
		{name: "another host", err: &url.Error{Op: "Get", URL: "https://198.18.0.1:6443/api", Err: x509.HostnameError{Host: "198.18.0.1", Certificate: &x509.Certificate{}}}},
		{name: "unknown authority over the exec stream", err: &transfer.StreamError{Err: errors.New("tls: failed to verify certificate: x509: certificate signed by unknown authority")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := retriable(tt.err); got != tt.want {
				t.Errorf("retriable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
