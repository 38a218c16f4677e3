//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestPodSecurityIsEnforced proves the fixture namespace really enforces
// "restricted": a privileged Pod is refused, and a restricted Pod that mounts
// client-pvc runs and can write there (the reader Pod is one).
func TestPodSecurityIsEnforced(t *testing.T) {
	priv := restrictedPod("e2e-privileged")
	priv.Spec.Containers[0].SecurityContext.Privileged = ptr.To(true)
	priv.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = ptr.To(true)
	_, err := client.CoreV1().Pods(ns).Create(context.Background(), priv, metav1.CreateOptions{})
	if err == nil {
		_ = client.CoreV1().Pods(ns).Delete(context.Background(), priv.Name, metav1.DeleteOptions{})
		t.Fatal("a privileged pod was admitted in namespace tracebloc")
	}
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "violates PodSecurity") {
		t.Fatalf("privileged pod refused for another reason: %v", err)
	}
	out := inReader(t, `echo hello > /data/shared/e2e-write-test && cat /data/shared/e2e-write-test && rm /data/shared/e2e-write-test`)
	if strings.TrimSpace(out) != "hello" {
		t.Fatalf("restricted pod could not write to client-pvc: %q", out)
	}
	pod, err := client.CoreV1().Pods(ns).Get(context.Background(), readerPod, metav1.GetOptions{})
	if err != nil || pod.Status.Phase != corev1.PodRunning {
		t.Fatalf("reader pod not running: %v", err)
	}
}
