package access

import (
	"context"
	"strings"
	"testing"

	authv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// allowAllBut answers access reviews: everything is allowed but denied.
func allowAllBut(denied ...string) *fake.Clientset {
	client := fake.NewClientset()
	client.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		review := a.(k8stesting.CreateAction).GetObject().(*authv1.SelfSubjectAccessReview)
		ra := review.Spec.ResourceAttributes
		r := Rule{Group: ra.Group, Resource: ra.Resource, Subresource: ra.Subresource, Verb: ra.Verb, Name: ra.Name}
		review.Status.Allowed = true
		for _, d := range denied {
			if r.String() == d {
				review.Status.Allowed = false
			}
		}
		return true, review, nil
	})
	return client
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		rules   []Rule
		denied  []string
		wantErr []string
	}{
		{name: "ingestion: no token for the ingestor", rules: IngestRules("loader"), denied: []string{"create serviceaccounts/token loader"},
			wantErr: []string{"missing permission: create serviceaccounts/token loader in namespace tb"}},
		{name: "ingestion: no port-forward, no logs", rules: IngestRules("ingestor"), denied: []string{"create pods/portforward", "get pods/log"},
			wantErr: []string{"create pods/portforward in namespace tb\nmissing permission: get pods/log in namespace tb"}},
		{name: "ingestion: all allowed", rules: IngestRules("ingestor")},
		{name: "all allowed"},
		{name: "no exec", denied: []string{"create pods/exec"},
			wantErr: []string{"missing permission: create pods/exec in namespace tb", "docs/rbac.yaml"}},
		{name: "no leases", denied: []string{"create leases.coordination.k8s.io", "delete leases.coordination.k8s.io"},
			wantErr: []string{"create leases.coordination.k8s.io in namespace tb\nmissing permission: delete leases.coordination.k8s.io"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules := tt.rules
			if rules == nil {
				rules = PushRules
			}
			err := Check(context.Background(), allowAllBut(tt.denied...), "tb", rules)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || exitcode.Of(err) != exitcode.Permission {
				t.Fatalf("err = %v, want exit 5", err)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
