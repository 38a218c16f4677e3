// Package stagepod builds, starts, awaits and deletes the stage Pod: a short-lived
// Pod that mounts client-pvc so the dataset can be streamed onto it.
package stagepod

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/tracebloc/kubectl-tracebloc/pkg/naming"
	"github.com/tracebloc/kubectl-tracebloc/pkg/podexec"
)

// DefaultImage is the pinned stage image. The stage agent needs only
// podexec.ImageNeeds of it.
const DefaultImage = "alpine:3.20@sha256:d9e853e87e55526f6b2917df91a2115c36dd7c696a35be12163d44e6e2a4b6bc"

// ImageEnv overrides DefaultImage, for mirrors and air-gapped registries.
const ImageEnv = "TRACEBLOC_STAGE_IMAGE"

// Labels, annotations and selectors of the plugin's Pods. They live in
// pkg/naming, which lock and leftover share without importing this package;
// these names stay for the code that already spells them stage.X.
const (
	LabelManagedBy      = naming.LabelManagedBy
	ManagedBy           = naming.ManagedBy
	LabelComponent      = naming.LabelComponent
	ComponentStagePod   = naming.ComponentStagePod
	ComponentHelperPod  = naming.ComponentHelperPod
	LabelTable          = naming.LabelTable
	AnnotationTable     = naming.AnnotationTable
	AnnotationCreatedBy = naming.AnnotationCreatedBy
	AnnotationCreatedAt = naming.AnnotationCreatedAt
	AnnotationHolder    = naming.AnnotationHolder
	Selector            = naming.StagePodSelector
)

// Mount points inside the stage Pod.
const (
	SharedMount   = podexec.SharedMount
	ContainerName = "stage"
	uid           = 65532
)

// Resources are what the stage Pod's container asks for and may reach, as
// BuildPod sets them and the quota and LimitRange refusals name them.
var Resources = struct {
	RequestCPU, RequestMemory, LimitCPU, LimitMemory string
}{RequestCPU: "100m", RequestMemory: "64Mi", LimitCPU: "2", LimitMemory: "1Gi"}

// resourcesAsked is Resources in a refusal's words.
func resourcesAsked() string {
	r := Resources
	return fmt.Sprintf("it asks for %s CPU and %s memory, at most %s CPUs and %s", r.RequestCPU, r.RequestMemory, r.LimitCPU, r.LimitMemory)
}

// Exec is pods/exec into the stage container of pod.
func Exec(client kubernetes.Interface, config *rest.Config, namespace, pod string) podexec.Runner {
	return &podexec.PodExec{Client: client, Config: config, Namespace: namespace, Pod: pod, Container: ContainerName}
}

// PodOptions describe one stage Pod.
type PodOptions struct {
	Namespace string
	Table     string
	// Component is the component label; empty means a stage Pod.
	Component string
	Image     string
	PVC       string
	// Suffix makes the name unique (random, lower-case alphanumeric).
	Suffix string
	// Bytes is the dataset size; the Pod's lifetime grows with it.
	Bytes int64
	// Node pins the Pod to a node, for a ReadWriteOnce volume already mounted there.
	Node      string
	CreatedBy string
	// Holder is the identity of the push's Lease.
	Holder string
	Now    time.Time
}

// PodName returns a DNS-1123 name for the stage Pod of table.
func PodName(table, suffix string) string {
	return "tracebloc-stage-" + naming.Slug(table) + "-" + suffix
}

// TableLabel returns a label value for table (see naming.TableLabel).
func TableLabel(table string) string { return naming.TableLabel(table) }

// Deadline is how long the Pod may live: ten minutes, plus time for the data
// at a slow 512 KiB/s.
func Deadline(bytes int64) time.Duration {
	return 10*time.Minute + time.Duration(bytes/(512<<10))*time.Second
}

// BuildPod returns the stage Pod. It passes Pod Security "restricted".
func BuildPod(o PodOptions) *corev1.Pod {
	deadline := Deadline(o.Bytes)
	component, name := o.Component, PodName(o.Table, o.Suffix)
	if component == "" {
		component = ComponentStagePod
	}
	if component == ComponentHelperPod {
		// The same prefix as stage Pods: an admission policy can admit
		// (and allow exec into) the plugin's Pods by name.
		name = "tracebloc-stage-helper-" + o.Suffix
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: o.Namespace,
			Labels: map[string]string{
				LabelManagedBy: ManagedBy,
				LabelComponent: component,
				LabelTable:     TableLabel(o.Table),
			},
			Annotations: map[string]string{
				AnnotationTable:     o.Table,
				AnnotationCreatedBy: o.CreatedBy,
				AnnotationCreatedAt: o.Now.UTC().Format(time.RFC3339),
				AnnotationHolder:    o.Holder,
			},
		},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			ActiveDeadlineSeconds:         ptr.To(int64(deadline.Seconds())),
			TerminationGracePeriodSeconds: ptr.To(int64(2)),
			AutomountServiceAccountToken:  ptr.To(false),
			EnableServiceLinks:            ptr.To(false),
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot:   ptr.To(true),
				RunAsUser:      ptr.To(int64(uid)),
				RunAsGroup:     ptr.To(int64(uid)),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{{
				Name:  ContainerName,
				Image: o.Image,
				// PID 1 exits at once on SIGTERM, so deleting the Pod is quick.
				Command:         []string{"sh", "-c", fmt.Sprintf("trap 'exit 0' TERM; sleep %d & wait", int64(deadline.Seconds()))},
				ImagePullPolicy: corev1.PullIfNotPresent,
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr.To(false),
					ReadOnlyRootFilesystem:   ptr.To(true),
					RunAsNonRoot:             ptr.To(true),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
				// The limit covers more than the agent: the page cache and
				// the inodes of the files it writes are charged to the Pod,
				// and at 256Mi the kernel reclaimed them while the push was
				// writing (100 000 small texts: 11-12 s at 1Gi against
				// 12-15 s at 256Mi). The request stays small.
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{
						corev1.ResourceCPU:    resource.MustParse(Resources.RequestCPU),
						corev1.ResourceMemory: resource.MustParse(Resources.RequestMemory),
					},
					Limits: corev1.ResourceList{
						corev1.ResourceCPU:    resource.MustParse(Resources.LimitCPU),
						corev1.ResourceMemory: resource.MustParse(Resources.LimitMemory),
					},
				},
				VolumeMounts: []corev1.VolumeMount{
					{Name: "shared", MountPath: SharedMount},
					{Name: "tmp", MountPath: "/tmp"},
				},
			}},
			Volumes: []corev1.Volume{
				{Name: "shared", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: o.PVC}}},
				{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: ptr.To(resource.MustParse("64Mi"))}}},
			},
		},
	}
	if o.Node != "" {
		pod.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{{
					Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{o.Node},
				}}}},
			},
		}}
	}
	return pod
}
