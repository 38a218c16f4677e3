package cluster

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

func deployment(ns, name, instance string, labels map[string]string) *appsv1.Deployment {
	l := map[string]string{
		"app.kubernetes.io/name":       "client",
		"app.kubernetes.io/managed-by": "Helm",
		"app.kubernetes.io/instance":   instance,
		"helm.sh/chart":                "client-1.4.2",
		"app.kubernetes.io/version":    "0.9.0",
	}
	for k, v := range labels {
		l[k] = v
	}
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: l}}
}

func pvc(ns string, phase corev1.PersistentVolumeClaimPhase, modes ...corev1.PersistentVolumeAccessMode) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: PVCName},
		Spec:       corev1.PersistentVolumeClaimSpec{AccessModes: modes},
		Status: corev1.PersistentVolumeClaimStatus{Phase: phase, AccessModes: modes,
			Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")}},
	}
}

func TestDiscover(t *testing.T) {
	tests := []struct {
		name     string
		objects  []runtime.Object
		want     *Target
		wantCode int
		wantErr  string
	}{
		{
			name:    "one release, bound RWO volume",
			objects: []runtime.Object{deployment("tb", "prod-jobs-manager", "prod", nil), pvc("tb", corev1.ClaimBound, corev1.ReadWriteOnce)},
			want: &Target{Namespace: "tb",
				Release: Release{Name: "prod", ChartVersion: "1.4.2", AppVersion: "0.9.0", Deployment: "prod-jobs-manager"},
				Volume:  Volume{Name: PVCName, AccessModes: []string{"ReadWriteOnce"}, Capacity: "10Gi"}},
		},
		{
			name:    "deployment named plain jobs-manager",
			objects: []runtime.Object{deployment("tb", "jobs-manager", "tb", nil), pvc("tb", corev1.ClaimBound, corev1.ReadWriteMany)},
			want: &Target{Namespace: "tb",
				Release: Release{Name: "tb", ChartVersion: "1.4.2", AppVersion: "0.9.0", Deployment: "jobs-manager"},
				Volume:  Volume{Name: PVCName, AccessModes: []string{"ReadWriteMany"}, Capacity: "10Gi"}},
		},
		{
			name:     "no release",
			objects:  []runtime.Object{pvc("tb", corev1.ClaimBound, corev1.ReadWriteOnce)},
			wantCode: exitcode.Cluster, wantErr: `no tracebloc client release in namespace "tb"`,
		},
		{
			name:     "release in another namespace only",
			objects:  []runtime.Object{deployment("other", "x-jobs-manager", "x", nil)},
			wantCode: exitcode.Cluster, wantErr: "pass -n with the namespace",
		},
		{
			name:     "other client deployments are not releases",
			objects:  []runtime.Object{deployment("tb", "prod-mysql", "prod", nil)},
			wantCode: exitcode.Cluster, wantErr: "no tracebloc client release",
		},
		{
			name:     "not managed by helm",
			objects:  []runtime.Object{deployment("tb", "prod-jobs-manager", "prod", map[string]string{"app.kubernetes.io/managed-by": "kustomize"})},
			wantCode: exitcode.Cluster, wantErr: "no tracebloc client release",
		},
		{
			name: "two releases",
			objects: []runtime.Object{deployment("tb", "b-jobs-manager", "b", nil), deployment("tb", "a-jobs-manager", "a", nil),
				pvc("tb", corev1.ClaimBound, corev1.ReadWriteOnce)},
			wantCode: exitcode.Cluster, wantErr: `2 tracebloc client releases in namespace "tb": a (Deployment a-jobs-manager), b (Deployment b-jobs-manager)`,
		},
		{
			name:     "pvc missing",
			objects:  []runtime.Object{deployment("tb", "prod-jobs-manager", "prod", nil)},
			wantCode: exitcode.Cluster, wantErr: `PersistentVolumeClaim client-pvc not found in namespace "tb"`,
		},
		{
			name:     "pvc pending",
			objects:  []runtime.Object{deployment("tb", "prod-jobs-manager", "prod", nil), pvc("tb", corev1.ClaimPending, corev1.ReadWriteOnce)},
			wantCode: exitcode.Cluster, wantErr: "is Pending, not Bound",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(tt.objects...)
			got, err := Discover(context.Background(), client, "tb")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Discover() error = %v, want %q", err, tt.wantErr)
				}
				if code := exitcode.Of(err); code != tt.wantCode {
					t.Errorf("exit code = %d, want %d", code, tt.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Discover() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDiscoverForbidden(t *testing.T) {
	client := fake.NewClientset()
	client.PrependReactor("list", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "deployments"}, "", errors.New("rbac"))
	})
	_, err := Discover(context.Background(), client, "tb")
	if err == nil || !strings.Contains(err.Error(), "missing permission: list deployments in namespace tb") {
		t.Fatalf("error = %v", err)
	}
	if code := exitcode.Of(err); code != exitcode.Permission {
		t.Errorf("exit code = %d, want %d", code, exitcode.Permission)
	}
}

func TestVolumeReadWriteOnce(t *testing.T) {
	if !(Volume{AccessModes: []string{"ReadWriteOnce"}}).ReadWriteOnce() {
		t.Error("RWO volume reported as shared")
	}
	if (Volume{AccessModes: []string{"ReadWriteOnce", "ReadWriteMany"}}).ReadWriteOnce() {
		t.Error("RWX volume reported as single-node")
	}
}
