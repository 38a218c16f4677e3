package cluster

import (
	"errors"
	"fmt"
	"net"
	"net/url"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// APIError turns an apiserver error on verb/resource into plain words with the
// exit code that fits: a missing permission exits 5, an unreachable cluster 3.
func APIError(err error, verb, resource, namespace string) error {
	switch {
	case apierrors.IsForbidden(err):
		return exitcode.Errorf(exitcode.Permission,
			"missing permission: %s %s in namespace %s: ask a cluster admin to bind the Role in docs/rbac.yaml", verb, resource, namespace)
	case apierrors.IsUnauthorized(err):
		return exitcode.Errorf(exitcode.Local,
			"the cluster refused your credentials (401 Unauthorized): log in again or refresh the token in your kubeconfig")
	case unreachable(err):
		return exitcode.Errorf(exitcode.Local,
			"cannot reach the cluster: %w: check --context / --kubeconfig and that the cluster is up", err)
	}
	return fmt.Errorf("%s %s in namespace %s: %w", verb, resource, namespace, err)
}

func unreachable(err error) bool {
	var urlErr *url.Error
	var netErr *net.OpError
	var dnsErr *net.DNSError
	return errors.As(err, &netErr) || errors.As(err, &dnsErr) || errors.As(err, &urlErr)
}
