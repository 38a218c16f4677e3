package cluster

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

func service(name string, target intstr.IntOrString) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "tb", Name: name},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "manager"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 8080, TargetPort: target}}},
	}
}

func managerPod(name string, phase corev1.PodPhase, ready bool) *corev1.Pod {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "tb", Name: name, Labels: map[string]string{"app": "manager"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "api",
			Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: 9090}}}}},
		Status: corev1.PodStatus{Phase: phase, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}},
	}
}

func TestFindJobsManager(t *testing.T) {
	tests := []struct {
		name     string
		objects  []runtime.Object
		want     *JobsManager
		wantCode int
		wantErr  string
	}{
		{
			name:    "unprefixed service, running pod",
			objects: []runtime.Object{service("jobs-manager", intstr.FromInt32(8080)), managerPod("m-1", corev1.PodRunning, true)},
			want:    &JobsManager{Service: "jobs-manager", Pod: "m-1", Port: 8080},
		},
		{
			name: "release-prefixed service, named target port, first pod not ready",
			objects: []runtime.Object{service("prod-jobs-manager", intstr.FromString("web")),
				managerPod("m-1", corev1.PodRunning, false), managerPod("m-2", corev1.PodRunning, true)},
			want: &JobsManager{Service: "prod-jobs-manager", Pod: "m-2", Port: 9090},
		},
		{
			name:     "no service",
			objects:  []runtime.Object{managerPod("m-1", corev1.PodRunning, true)},
			wantCode: exitcode.Submit, wantErr: "no jobs-manager Service",
		},
		{
			name:     "scaled to zero",
			objects:  []runtime.Object{service("jobs-manager", intstr.FromInt32(8080)), managerPod("m-1", corev1.PodPending, false)},
			wantCode: exitcode.Submit, wantErr: "no Running pod behind Service jobs-manager",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(tt.objects...)
			got, err := FindJobsManager(context.Background(), client, "tb", "prod")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if code := exitcode.Of(err); code != tt.wantCode {
				t.Errorf("exit code %d, want %d (%v)", code, tt.wantCode, err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func authz(body string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "tb", Name: "prod-ingestion-authz"},
		Data: map[string]string{"ingestion-authz.yaml": body}}
}

func TestFindIngestor(t *testing.T) {
	tests := []struct {
		name      string
		objects   []runtime.Object
		forbidden bool
		want      *Ingestor
	}{
		{
			name:    "chart default",
			objects: []runtime.Object{authz("allowed:\n- service_account: ingestor\n  namespace: tb\n  table_prefixes: [\"*\"]\n")},
			want:    &Ingestor{ServiceAccount: "ingestor", Source: "ConfigMap prod-ingestion-authz", TablePrefixes: []string{"*"}},
		},
		{
			name: "another account for this namespace, others elsewhere",
			objects: []runtime.Object{authz(`allowed:
- {service_account: loader, namespace: tb, table_prefixes: [cats_, dogs_]}
- {service_account: other, namespace: elsewhere, table_prefixes: ["*"]}
`)},
			want: &Ingestor{ServiceAccount: "loader", Source: "ConfigMap prod-ingestion-authz", TablePrefixes: []string{"cats_", "dogs_"}},
		},
		{
			name: "two accounts: fall back",
			objects: []runtime.Object{authz(`allowed:
- {service_account: a, namespace: tb}
- {service_account: b, namespace: tb}
`)},
			want: &Ingestor{ServiceAccount: "ingestor", Source: "default (ConfigMap prod-ingestion-authz names 2 service accounts for namespace tb)"},
		},
		{
			name: "no ConfigMap",
			want: &Ingestor{ServiceAccount: "ingestor", Source: "default (no ConfigMap prod-ingestion-authz)"},
		},
		{
			name:      "not readable",
			forbidden: true,
			want:      &Ingestor{ServiceAccount: "ingestor", Source: "default (ConfigMap prod-ingestion-authz not readable)"},
		},
		{
			name:    "broken yaml",
			objects: []runtime.Object{authz("allowed: [")},
			want:    &Ingestor{ServiceAccount: "ingestor", Source: "default (ConfigMap prod-ingestion-authz does not parse)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(tt.objects...)
			if tt.forbidden {
				client.PrependReactor("get", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "prod-ingestion-authz", nil)
				})
			}
			got, err := FindIngestor(context.Background(), client, "tb", "prod")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
