//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestPodSecurityAsTheChart proves the fixture namespace leaves Pod Security
// as the tracebloc chart does: "restricted" is warned and audited, not
// enforced, so a privileged Pod is admitted with a warning (what keeps
// pushers out is docs/admission-policy.yaml, see admission_test.go); and a
// restricted Pod that mounts client-pvc runs and can write there (the reader
// Pod is one).
func TestPodSecurityAsTheChart(t *testing.T) {
	nsObj, err := client.CoreV1().Namespaces().Get(context.Background(), ns, metav1.GetOptions{})
	must(t, err)
	if l := nsObj.Labels; l["pod-security.kubernetes.io/enforce"] != "" || l["pod-security.kubernetes.io/warn"] != "restricted" {
		t.Fatalf("namespace %s has Pod Security labels %v: want warn=restricted and no enforce, as the chart (recreate the cluster)", ns, l)
	}
	priv := restrictedPod("e2e-privileged")
	priv.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}
	priv.Spec.Containers[0].SecurityContext.Privileged = ptr.To(true)
	priv.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = ptr.To(true)
	text, err := json.Marshal(priv)
	must(t, err)
	cmd := exec.Command(kubectlBin, "--kubeconfig", kubeconfig, "create", "--dry-run=server", "-f", "-")
	cmd.Stdin = bytes.NewReader(text)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "would violate PodSecurity") {
		t.Fatalf("a privileged pod in %s: %v: %s; want it admitted with a PodSecurity warning", ns, err, out)
	}
	got := inReader(t, `echo hello > /data/shared/e2e-write-test && cat /data/shared/e2e-write-test && rm /data/shared/e2e-write-test`)
	if strings.TrimSpace(got) != "hello" {
		t.Fatalf("restricted pod could not write to client-pvc: %q", got)
	}
	pod, err := client.CoreV1().Pods(ns).Get(context.Background(), readerPod, metav1.GetOptions{})
	if err != nil || pod.Status.Phase != corev1.PodRunning {
		t.Fatalf("reader pod not running: %v", err)
	}
}
