// Package access asks the apiserver, before anything is created, whether the
// current credentials may do everything a push does.
package access

import (
	"context"
	"fmt"
	"strings"
	"sync"

	authv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tracebloc/kubectl-tracebloc/pkg/cluster"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// Rule is one verb on one resource.
type Rule struct {
	Group       string
	Resource    string
	Subresource string
	Verb        string
	// Name narrows the rule to one object (e.g. the ingestor ServiceAccount).
	Name string
}

func (r Rule) String() string {
	res := r.Resource
	if r.Subresource != "" {
		res += "/" + r.Subresource
	}
	if r.Group != "" {
		res += "." + r.Group
	}
	if r.Name != "" {
		res += " " + r.Name
	}
	return r.Verb + " " + res
}

// PushRules are the verbs a push uses, in the order it uses them. docs/rbac.yaml
// grants exactly these (and list events, for explaining a Pod that cannot start).
var PushRules = []Rule{
	{Group: "apps", Resource: "deployments", Verb: "list"},
	{Resource: "persistentvolumeclaims", Verb: "get"},
	{Group: "coordination.k8s.io", Resource: "leases", Verb: "list"},
	{Group: "coordination.k8s.io", Resource: "leases", Verb: "get"},
	{Group: "coordination.k8s.io", Resource: "leases", Verb: "create"},
	{Group: "coordination.k8s.io", Resource: "leases", Verb: "update"},
	{Group: "coordination.k8s.io", Resource: "leases", Verb: "delete"},
	{Resource: "pods", Verb: "list"},
	{Resource: "pods", Verb: "create"},
	{Resource: "pods", Verb: "watch"},
	{Resource: "pods", Verb: "get"},
	{Resource: "pods", Subresource: "exec", Verb: "create"},
	{Resource: "pods", Verb: "delete"},
}

// IngestRules are the verbs submitting and following an ingestion run use,
// after staging: find the jobs-manager, port-forward to it, request a token
// for the ingestor ServiceAccount sa, and follow the run's Job and pod log.
// Reading the authz ConfigMap is optional (the chart's default account is
// used without it), so it is not among them.
func IngestRules(sa string) []Rule {
	return []Rule{
		{Resource: "services", Verb: "get"},
		{Resource: "serviceaccounts", Subresource: "token", Verb: "create", Name: sa},
		{Resource: "pods", Subresource: "portforward", Verb: "create"},
		{Group: "batch", Resource: "jobs", Verb: "get"},
		{Group: "batch", Resource: "jobs", Verb: "list"},
		{Resource: "pods", Subresource: "log", Verb: "get"},
	}
}

// Missing returns the rules the credentials lack in namespace. The reviews
// are asked all at once: a dozen round trips one after the other would cost
// a noticeable part of a small push.
func Missing(ctx context.Context, client kubernetes.Interface, namespace string, rules []Rule) ([]Rule, error) {
	allowed := make([]bool, len(rules))
	errs := make([]error, len(rules))
	var wg sync.WaitGroup
	for i, r := range rules {
		wg.Go(func() {
			review := &authv1.SelfSubjectAccessReview{Spec: authv1.SelfSubjectAccessReviewSpec{
				ResourceAttributes: &authv1.ResourceAttributes{
					Namespace: namespace, Group: r.Group, Resource: r.Resource, Subresource: r.Subresource, Verb: r.Verb, Name: r.Name,
				},
			}}
			res, err := client.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
			if err != nil {
				// Ctrl-C, a refused certificate, an unreachable cluster
				// are said as such; anything else as the question failed.
				errs[i] = cluster.APIError(err, "create", "selfsubjectaccessreviews", namespace)
				if exitcode.Of(errs[i]) == exitcode.Unexpected {
					errs[i] = fmt.Errorf("asking the apiserver whether you may %s: %w", r, err)
				}
				return
			}
			allowed[i] = res.Status.Allowed
		})
	}
	wg.Wait()
	var missing []Rule
	for i, r := range rules {
		if errs[i] != nil {
			return nil, errs[i]
		}
		if !allowed[i] {
			missing = append(missing, r)
		}
	}
	return missing, nil
}

// Check fails with exit 5, naming every missing permission, when the
// credentials cannot do all of rules.
func Check(ctx context.Context, client kubernetes.Interface, namespace string, rules []Rule) error {
	missing, err := Missing(ctx, client, namespace, rules)
	if err != nil {
		return err
	}
	if len(missing) == 0 {
		return nil
	}
	lines := make([]string, len(missing))
	for i, r := range missing {
		lines[i] = fmt.Sprintf("missing permission: %s in namespace %s", r, namespace)
	}
	return exitcode.Errorf(exitcode.Permission, "%s\nask a cluster admin to bind the Role in docs/rbac.yaml to you in namespace %s",
		strings.Join(lines, "\n"), namespace)
}
