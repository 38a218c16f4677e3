//go:build e2e

// Package harness is what the end-to-end tests and the benchmarks share:
// the local real cluster they run against, as `make e2e` and `make bench`
// describe it in the environment, and a reader Pod that mounts the volume.
package harness

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"

	"github.com/tracebloc/kubectl-tracebloc/pkg/stagepod"
)

// Namespace is the client's namespace on the local cluster; ReaderPod reads
// the shared volume for the checks.
const (
	Namespace = "tracebloc"
	ReaderPod = "e2e-reader"
)

// Env is the cluster of a run.
type Env struct {
	Plugin     string
	Kubeconfig string
	StageImage string
	// Kubectl is the cluster's own kubectl when LOCALCLUSTER_STATE is set.
	Kubectl string
	Client  kubernetes.Interface
}

// Setup reads the environment, connects, deletes the stage Pods an earlier
// killed run left (the checks that nothing is left behind would fail on
// them) and starts the reader Pod.
func Setup() (*Env, error) {
	e := &Env{Plugin: os.Getenv("TRACEBLOC_PLUGIN"), Kubeconfig: os.Getenv("KUBECONFIG"), StageImage: os.Getenv("TRACEBLOC_STAGE_IMAGE"), Kubectl: "kubectl"}
	if e.Plugin == "" || e.Kubeconfig == "" || e.StageImage == "" {
		return nil, errors.New("TRACEBLOC_PLUGIN, KUBECONFIG and TRACEBLOC_STAGE_IMAGE must be set: run `make e2e` or `make bench`")
	}
	if state := os.Getenv("LOCALCLUSTER_STATE"); state != "" {
		e.Kubectl = filepath.Join(state, "bin", "kubectl")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", e.Kubeconfig)
	if err != nil {
		return nil, err
	}
	if e.Client, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, err
	}
	_ = e.Client.CoreV1().Pods(Namespace).DeleteCollection(context.Background(), metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0))},
		metav1.ListOptions{LabelSelector: stagepod.Selector})
	return e, e.startReader()
}

// Teardown deletes the reader Pod.
func (e *Env) Teardown() {
	_ = e.Client.CoreV1().Pods(Namespace).Delete(context.Background(), ReaderPod, metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0))})
}

func (e *Env) startReader() error {
	ctx := context.Background()
	_ = e.Client.CoreV1().Pods(Namespace).Delete(ctx, ReaderPod, metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0))})
	for i := 0; i < 100; i++ {
		if _, err := e.Client.CoreV1().Pods(Namespace).Get(ctx, ReaderPod, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := e.Client.CoreV1().Pods(Namespace).Create(ctx, RestrictedPod(ReaderPod, e.StageImage), metav1.CreateOptions{}); err != nil {
		return err
	}
	_, err := stagepod.WaitRunning(ctx, e.Client, Namespace, ReaderPod, 2*time.Minute)
	return err
}

// RestrictedPod is a Pod of image that passes Pod Security "restricted" and
// mounts client-pvc.
func RestrictedPod(name, image string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace, Labels: map[string]string{"e2e": "reader"}},
		Spec: corev1.PodSpec{
			AutomountServiceAccountToken:  ptr.To(false),
			TerminationGracePeriodSeconds: ptr.To(int64(1)),
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To(int64(65532)),
				RunAsGroup: ptr.To(int64(65532)), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{
				Name: "reader", Image: image, ImagePullPolicy: corev1.PullIfNotPresent,
				Command: []string{"sh", "-c", "trap 'exit 0' TERM; sleep 36000 & wait"},
				SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true),
					Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
				VolumeMounts: []corev1.VolumeMount{{Name: "shared", MountPath: "/data/shared"}},
			}},
			Volumes: []corev1.Volume{{Name: "shared", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "client-pvc"}}}},
		},
	}
}

// SlowLink shapes the veth to the cluster to 100 Mbit/s (tc tbf). The
// returned func takes the shaping off; it also runs when the test or
// benchmark ends.
func SlowLink(tb testing.TB) (undo func()) {
	tb.Helper()
	if out, err := exec.Command("tc", "qdisc", "replace", "dev", "tblc0", "root", "tbf", "rate", "100mbit", "burst", "256kb", "latency", "50ms").CombinedOutput(); err != nil {
		tb.Fatalf("tc: %v %s", err, out)
	}
	var once sync.Once
	undo = func() { once.Do(func() { _ = exec.Command("tc", "qdisc", "del", "dev", "tblc0", "root").Run() }) }
	tb.Cleanup(undo)
	return undo
}

// ListenRelay listens on loopback and hands each connection, with one of
// its own to target, to forward.
func ListenRelay(tb testing.TB, target string, forward func(client, upstream net.Conn)) net.Listener {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			forward(c, up)
		}
	}()
	tb.Cleanup(func() { _ = ln.Close() })
	return ln
}
