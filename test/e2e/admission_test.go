//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"

	"github.com/tracebloc/kubectl-tracebloc/pkg/stagepod"
)

const (
	policyName = "tracebloc-pusher"
	pusherSA   = "tracebloc-pusher-e2e"
)

// kubectlApply applies text as the admin and deletes it when the test ends.
func kubectlApply(t *testing.T, text string) {
	t.Helper()
	cmd := exec.Command(kubectlBin, "--kubeconfig", kubeconfig, "apply", "-f", "-")
	cmd.Stdin = strings.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kubectl apply: %v: %s", err, out)
	}
	t.Cleanup(func() {
		del := exec.Command(kubectlBin, "--kubeconfig", kubeconfig, "delete", "-f", "-", "--wait=false", "--ignore-not-found")
		del.Stdin = strings.NewReader(text)
		_ = del.Run()
	})
}

// applyPolicy applies docs/admission-policy.yaml adapted as it says: bound
// to namespace, and listing the local cluster's stage image (a tag there:
// the images are imported, not pulled, so no digest names them).
func applyPolicy(t *testing.T, namespace string) {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "admission-policy.yaml"))
	must(t, err)
	text := string(doc)
	for old, repl := range map[string]string{
		"kubernetes.io/metadata.name: tracebloc\n": "kubernetes.io/metadata.name: " + namespace + "\n",
		"  namespace: tracebloc\n":                 "  namespace: " + namespace + "\n",
		"    alpine:3.20@sha256:":                  "    " + stageImage + "\n    alpine:3.20@sha256:",
	} {
		if !strings.Contains(text, old) {
			t.Fatalf("docs/admission-policy.yaml no longer holds %q: adapt this test", old)
		}
		text = strings.Replace(text, old, repl, 1)
	}
	text += "  allowTags: \"true\"\n"
	kubectlApply(t, text)
}

// pusherKubeconfig binds docs/rbac.yaml to a new ServiceAccount of namespace
// and writes a kubeconfig that authenticates as it with a bound token.
func pusherKubeconfig(t *testing.T, namespace string) string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "rbac.yaml"))
	must(t, err)
	text := strings.ReplaceAll(string(doc), "tracebloc-pusher", pusherSA)
	text = strings.ReplaceAll(text, "namespace: tracebloc\n", "namespace: "+namespace+"\n")
	text = strings.ReplaceAll(text, "kind: Role\nmetadata:\n", "kind: Role\nmetadata:\n  namespace: "+namespace+"\n")
	text = strings.ReplaceAll(text, "kind: RoleBinding\nmetadata:\n", "kind: RoleBinding\nmetadata:\n  namespace: "+namespace+"\n")
	text += "---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: " + pusherSA + "\n  namespace: " + namespace + "\n"
	kubectlApply(t, text)
	tok, err := client.CoreV1().ServiceAccounts(namespace).CreateToken(context.Background(), pusherSA,
		&authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(3600))}}, metav1.CreateOptions{})
	must(t, err)
	admin, err := clientcmd.LoadFromFile(kubeconfig)
	must(t, err)
	cluster := admin.Clusters[admin.Contexts[admin.CurrentContext].Cluster]
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = cluster
	cfg.AuthInfos[pusherSA] = &clientcmdapi.AuthInfo{Token: tok.Status.Token}
	cfg.Contexts["pusher"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: pusherSA, Namespace: namespace}
	cfg.CurrentContext = "pusher"
	path := filepath.Join(t.TempDir(), "pusher.kubeconfig")
	must(t, clientcmd.WriteToFile(*cfg, path))
	return path
}

// stageShaped is a Pod as the plugin builds it (post-merge shape: no
// fsGroup), for mutate to spoil.
func stageShaped(name string, mutate func(*corev1.Pod)) *corev1.Pod {
	p := restrictedPod(name)
	p.Namespace = localNS
	p.Labels = map[string]string{stagepod.LabelManagedBy: stagepod.ManagedBy, stagepod.LabelComponent: stagepod.ComponentStagePod}
	p.Spec.SecurityContext.FSGroup = nil
	p.Spec.Containers[0].SecurityContext.RunAsNonRoot = ptr.To(true)
	p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	if mutate != nil {
		mutate(p)
	}
	return p
}

// TestAdmissionPolicyHoldsPushersToTheStagePod applies docs/rbac.yaml and
// docs/admission-policy.yaml, then acts as a pusher ServiceAccount: push,
// status and cleanup work; a Pod of another shape and an exec into the
// jobs-manager are refused by the policy.
func TestAdmissionPolicyHoldsPushersToTheStagePod(t *testing.T) {
	const table = "e2e_admission"
	ctx := context.Background()
	kc := pusherKubeconfig(t, localNS)
	cfg, err := clientcmd.BuildConfigFromFlags("", kc)
	must(t, err)
	pusher, err := kubernetes.NewForConfig(cfg)
	must(t, err)
	// The control: the Role alone (all a release before the policy
	// shipped) lets a pusher create a privileged Pod that mounts a Secret.
	// The namespace enforces no Pod Security, as the chart's does not.
	loose := stageShaped("tracebloc-stage-e2e-loose", func(p *corev1.Pod) {
		p.Spec.Containers[0].SecurityContext.Privileged = ptr.To(true)
		p.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = ptr.To(true)
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "anything"}}})
	})
	if _, err := pusher.CoreV1().Pods(localNS).Create(ctx, loose, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Fatalf("without the policy, a privileged Pod with a Secret volume was refused (%v): the control of this test does not hold", err)
	}
	applyPolicy(t, localNS)
	_, err = client.CoreV1().ServiceAccounts(localNS).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "e2e-other"}}, metav1.CreateOptions{})
	if err == nil {
		t.Cleanup(func() {
			_ = client.CoreV1().ServiceAccounts(localNS).Delete(context.Background(), "e2e-other", metav1.DeleteOptions{})
		})
	}
	dry := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}

	// The policy takes effect a moment after it is created: wait until it
	// refuses a privileged Pod, which is also the first case.
	privileged := stageShaped("tracebloc-stage-e2e-priv", func(p *corev1.Pod) {
		p.Spec.Containers[0].SecurityContext.Privileged = ptr.To(true)
		p.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = ptr.To(true)
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err = pusher.CoreV1().Pods(localNS).Create(ctx, privileged, dry)
		if err != nil && strings.Contains(err.Error(), "ValidatingAdmissionPolicy '"+policyName+"'") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a privileged Pod by a pusher: %v; want the policy to refuse it", err)
		}
		time.Sleep(500 * time.Millisecond)
	}

	env := []string{"KUBECONFIG=" + kc}
	if r := runPlugin(t, env, "push", smallDataset(t), "--table", table); r.code != 0 {
		t.Fatalf("push as the pusher ServiceAccount under the policy:\n%s", r)
	}
	if r := runPlugin(t, env, "status"); r.code != 0 || !strings.Contains(r.stdout, table) {
		t.Fatalf("status as the pusher ServiceAccount under the policy:\n%s", r)
	}
	if r := runPlugin(t, env, "cleanup"); r.code != 0 {
		t.Fatalf("cleanup as the pusher ServiceAccount under the policy:\n%s", r)
	}

	refused := []struct {
		name string
		pod  *corev1.Pod
		want string
	}{
		{name: "privileged", pod: privileged, want: "run restricted"},
		{name: "another ServiceAccount", pod: stageShaped("tracebloc-stage-e2e-sa", func(p *corev1.Pod) {
			p.Spec.ServiceAccountName = "e2e-other"
		}), want: "default ServiceAccount"},
		{name: "a Secret volume", pod: stageShaped("tracebloc-stage-e2e-secret", func(p *corev1.Pod) {
			p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "anything"}}})
		}), want: "mount only the PVC client-pvc"},
		{name: "not the plugin's labels", pod: stageShaped("tracebloc-stage-e2e-labels", func(p *corev1.Pod) {
			p.Labels = map[string]string{"app": "mine"}
		}), want: "only Pods of kubectl-tracebloc"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pusher.CoreV1().Pods(localNS).Create(ctx, tt.pod, dry)
			if err == nil || !strings.Contains(err.Error(), "ValidatingAdmissionPolicy '"+policyName+"'") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("create as a pusher: %v; want the policy to refuse it saying %q", err, tt.want)
			}
		})
	}
	// The stage shape itself passes (the control of the cases above).
	if _, err := pusher.CoreV1().Pods(localNS).Create(ctx, stageShaped("tracebloc-stage-e2e-ok", nil), dry); err != nil {
		t.Fatalf("a stage-shaped Pod was refused: %v", err)
	}

	t.Run("exec into the jobs-manager", func(t *testing.T) {
		pods, err := client.CoreV1().Pods(localNS).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=jobs-manager"})
		must(t, err)
		if len(pods.Items) == 0 {
			t.Fatal("no jobs-manager Pod in " + localNS)
		}
		out, err := exec.Command(kubectlBin, "--kubeconfig", kc, "exec", "-n", localNS, pods.Items[0].Name, "--", "true").CombinedOutput()
		if err == nil || !strings.Contains(string(out), "exec only into the Pods kubectl-tracebloc creates") {
			t.Fatalf("exec into %s as a pusher: %v: %s; want the policy to refuse it", pods.Items[0].Name, err, out)
		}
	})

	// The policy's default port-forward prefix names the jobs-manager of the
	// release "tracebloc"; this namespace's release is another, so even its
	// jobs-manager is refused, as any other Pod would be.
	t.Run("port-forward to a Pod that is not the jobs-manager", func(t *testing.T) {
		pods, err := client.CoreV1().Pods(localNS).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=jobs-manager"})
		must(t, err)
		if len(pods.Items) == 0 {
			t.Fatal("no jobs-manager Pod in " + localNS)
		}
		cmd := exec.Command("timeout", "20", kubectlBin, "--kubeconfig", kc, "port-forward", "-n", localNS, "pod/"+pods.Items[0].Name, ":8080")
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "port-forward only to the jobs-manager") {
			t.Fatalf("port-forward to %s as a pusher: %v: %s; want the policy to refuse it", pods.Items[0].Name, err, out)
		}
	})
}
