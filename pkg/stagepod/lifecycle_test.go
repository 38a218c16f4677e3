package stagepod

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// A namespace whose LimitRange caps memory below the stage Pod's 1Gi (or
// its limit-to-request ratio) refuses the Pod as Forbidden. That is the
// namespace's limits, not a missing permission: exit 7 naming the
// LimitRange and what the Pod asks for, not exit 5 asking for the Role.
func TestCreateNamesTheRefusal(t *testing.T) {
	tests := []struct {
		name, msg string
		code      int
		says      []string
	}{
		{"LimitRange maximum", "maximum memory usage per Container is 512Mi, but limit is 1Gi", exitcode.Staging,
			[]string{"LimitRange", "1Gi"}},
		{"LimitRange ratio", "memory max limit to request ratio per Container is 4, but provided ratio is 16.000000", exitcode.Staging,
			[]string{"LimitRange", "64Mi"}},
		{"ResourceQuota", "exceeded quota: mem, requested: limits.memory=1Gi, used: limits.memory=0, limited: limits.memory=512Mi", exitcode.Staging,
			[]string{"ResourceQuota"}},
		{"RBAC", `User "u" cannot create resource "pods" in API group "" in the namespace "tracebloc"`, exitcode.Permission,
			[]string{"missing permission"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset()
			client.PrependReactor("create", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "tracebloc-stage-cats-ab12c", errors.New(tt.msg))
			})
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "tracebloc-stage-cats-ab12c", Namespace: "tracebloc"}}
			_, err := Create(context.Background(), client, pod)
			if exitcode.Of(err) != tt.code {
				t.Fatalf("exit %d (%v), want %d", exitcode.Of(err), err, tt.code)
			}
			for _, s := range tt.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%q does not say %q", err, s)
				}
			}
		})
	}
}
