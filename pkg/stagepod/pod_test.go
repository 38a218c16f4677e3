package stagepod

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

func TestPodNameIsValidForAnyLegalTable(t *testing.T) {
	for _, table := range []string{"cats", "Cats_Dogs", "_", "__x__", "a1", strings.Repeat("a_", 31) + "b", strings.Repeat("Z", 63)} {
		name := PodName(table, "ab12c")
		if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
			t.Errorf("PodName(%q) = %q: %v", table, name, errs)
		}
		if errs := validation.IsValidLabelValue(TableLabel(table)); len(errs) > 0 {
			t.Errorf("TableLabel(%q) = %q: %v", table, TableLabel(table), errs)
		}
	}
	if got := PodName("Cats_Dogs", "x1"); got != "tracebloc-stage-cats-dogs-x1" {
		t.Errorf("PodName = %q", got)
	}
}

func TestBuildPodIsRestricted(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	pod := BuildPod(PodOptions{Namespace: "tb", Table: "cats", Image: "img", PVC: "client-pvc", Suffix: "abcde",
		Bytes: 100 << 20, CreatedBy: "kubectl-tracebloc v1", Now: now})
	sc := pod.Spec.SecurityContext
	c := pod.Spec.Containers[0]
	checks := []struct {
		name string
		ok   bool
	}{
		{"runAsNonRoot", *sc.RunAsNonRoot},
		{"uid 65532", *sc.RunAsUser == 65532 && *sc.RunAsGroup == 65532},
		// An fsGroup would make kubelet re-group the whole shared volume.
		{"no fsGroup", sc.FSGroup == nil && sc.FSGroupChangePolicy == nil},
		{"seccomp", sc.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault},
		{"no escalation", !*c.SecurityContext.AllowPrivilegeEscalation},
		{"drop ALL", cmp.Equal(c.SecurityContext.Capabilities.Drop, []corev1.Capability{"ALL"})},
		{"read-only root", *c.SecurityContext.ReadOnlyRootFilesystem},
		{"no token", !*pod.Spec.AutomountServiceAccountToken},
		{"never restart", pod.Spec.RestartPolicy == corev1.RestartPolicyNever},
		{"deadline", *pod.Spec.ActiveDeadlineSeconds == int64(Deadline(100<<20).Seconds())},
		{"limits", !c.Resources.Limits.Cpu().IsZero() && !c.Resources.Limits.Memory().IsZero()},
		{"no affinity without node", pod.Spec.Affinity == nil},
	}
	for _, ch := range checks {
		if !ch.ok {
			t.Errorf("stage pod fails %s", ch.name)
		}
	}
	wantLabels := map[string]string{LabelManagedBy: ManagedBy, LabelComponent: ComponentStagePod, LabelTable: "cats"}
	if diff := cmp.Diff(wantLabels, pod.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if pod.Annotations[AnnotationCreatedAt] != "2026-11-25T12:00:00Z" || pod.Annotations[AnnotationTable] != "cats" {
		t.Errorf("annotations = %v", pod.Annotations)
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m.Name
	}
	if diff := cmp.Diff(map[string]string{"/data/shared": "shared", "/tmp": "tmp"}, mounts); diff != "" {
		t.Errorf("mounts (-want +got):\n%s", diff)
	}
}

func TestBuildPodPinsNodeForRWO(t *testing.T) {
	pod := BuildPod(PodOptions{Table: "cats", Node: "node-7", Now: time.Now()})
	terms := pod.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	want := []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"node-7"}}}
	if diff := cmp.Diff(want, terms[0].MatchFields); diff != "" {
		t.Errorf("affinity (-want +got):\n%s", diff)
	}
}

func TestDeadlineGrowsWithSize(t *testing.T) {
	if Deadline(0) != 10*time.Minute {
		t.Errorf("floor = %s", Deadline(0))
	}
	if Deadline(1<<30) <= Deadline(1<<20) {
		t.Error("a bigger dataset must get a longer deadline")
	}
}

func TestStarted(t *testing.T) {
	waiting := func(reason string) *corev1.Pod {
		return &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{
			Name: ContainerName, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: "m"}}}}}}
	}
	tests := []struct {
		name    string
		pod     *corev1.Pod
		done    bool
		wantErr string
	}{
		{name: "pending", pod: &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodPending}}},
		{name: "creating", pod: waiting("ContainerCreating")},
		{name: "image pull", pod: waiting("ImagePullBackOff"), wantErr: "the stage image cannot be pulled"},
		{name: "bad image name", pod: waiting("InvalidImageName"), wantErr: "image name is invalid"},
		{name: "running", done: true, pod: &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{
			Name: ContainerName, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}}}},
		{name: "failed", pod: &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodFailed, Message: "deadline exceeded"}}, wantErr: "deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done, err := started(tt.pod)
			if done != tt.done {
				t.Errorf("done = %v, want %v", done, tt.done)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("err = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || exitcode.Of(err) != exitcode.Staging {
				t.Errorf("err = %v, want exit 7 with %q", err, tt.wantErr)
			}
		})
	}
}

func TestMountingNode(t *testing.T) {
	running := func(name, node, claim string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "tb"},
			Spec: corev1.PodSpec{NodeName: node, Volumes: []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	}
	client := fake.NewClientset(running("other", "n1", "other-pvc"), running("jobs", "n2", "client-pvc"))
	node, err := MountingNode(context.Background(), client, "tb", "client-pvc")
	if err != nil || node != "n2" {
		t.Fatalf("MountingNode = %q, %v; want n2", node, err)
	}
	node, err = MountingNode(context.Background(), fake.NewClientset(), "tb", "client-pvc")
	if err != nil || node != "" {
		t.Fatalf("MountingNode with no pods = %q, %v", node, err)
	}
}

func TestBuildHelperPod(t *testing.T) {
	pod := BuildPod(PodOptions{Namespace: "tb", Table: "helper", Component: ComponentHelperPod, Image: "img", PVC: "client-pvc",
		Suffix: "abcde", Node: "n1", Now: time.Unix(0, 0)})
	if pod.Name != "tracebloc-stage-helper-abcde" || pod.Labels[LabelComponent] != ComponentHelperPod {
		t.Errorf("helper pod %s labelled %v", pod.Name, pod.Labels)
	}
	terms := pod.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	if got := terms[0].MatchFields[0].Values; !cmp.Equal(got, []string{"n1"}) {
		t.Errorf("helper pod pinned to %v, want n1", got)
	}
}
