package ingest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
	streamhttp "k8s.io/streaming/pkg/httpstream"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// Tunnel is a live port-forward to a pod.
type Tunnel struct {
	// URL is the local base URL, e.g. http://127.0.0.1:40123.
	URL  string
	stop context.CancelFunc
	done chan error
}

// Close ends the port-forward and waits for it to stop.
func (t *Tunnel) Close() {
	t.stop()
	_ = ended(t.done) // the forward ends with the stop; its error says nothing more
}

// Forward opens a port-forward from a random loopback port to port of pod:
// WebSocket tunnelling first, SPDY when the apiserver cannot upgrade to it.
// A failure exits 8.
func Forward(ctx context.Context, cfg *rest.Config, client kubernetes.Interface, namespace, pod string, port int) (*Tunnel, error) {
	u := client.CoreV1().RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("portforward").URL()
	transport, upgrader, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		return nil, exitcode.Errorf(exitcode.Submit, "port-forward to the jobs-manager: %v", err)
	}
	dialer := spdy.NewDialerForStreaming(upgrader, &http.Client{Transport: transport}, http.MethodPost, u)
	tunneling, err := portforward.NewSPDYOverWebsocketDialerForStreaming(u, cfg)
	if err != nil {
		return nil, exitcode.Errorf(exitcode.Submit, "port-forward to the jobs-manager: %v", err)
	}
	dialer = portforward.NewFallbackDialerForStreaming(tunneling, dialer, func(err error) bool {
		return streamhttp.IsUpgradeFailure(err) || streamhttp.IsHTTPSProxyError(err)
	})
	fctx, stop := context.WithCancel(ctx)
	ready := make(chan struct{})
	fw, err := portforward.NewOnAddressesForStreamingWithContext(fctx, dialer, []string{"127.0.0.1"}, []string{"0:" + strconv.Itoa(port)}, ready, io.Discard, io.Discard)
	if err != nil {
		stop()
		return nil, exitcode.Errorf(exitcode.Submit, "port-forward to the jobs-manager: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- fw.ForwardPorts() }()
	select {
	case <-ready:
	case err := <-done:
		stop()
		done <- err
		return nil, exitcode.Errorf(exitcode.Submit,
			"port-forward to the jobs-manager pod %s: %v: check you may create pods/portforward in namespace %s and the pod is Running", pod, err, namespace)
	case <-ctx.Done():
		stop()
		_ = ended(done)
		return nil, ctx.Err()
	}
	ports, err := fw.GetPorts()
	if err != nil || len(ports) == 0 {
		stop()
		_ = ended(done)
		return nil, exitcode.Errorf(exitcode.Submit, "port-forward to the jobs-manager: no local port: %v", err)
	}
	return &Tunnel{URL: fmt.Sprintf("http://127.0.0.1:%d", ports[0].Local), stop: stop, done: done}, nil
}

// ended waits for a port-forward to stop and returns its error.
func ended(done <-chan error) error { return <-done }
