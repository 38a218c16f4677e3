package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// APIError turns an apiserver error on verb/resource into plain words with the
// exit code that fits: a missing permission exits 5, an unreachable cluster 3,
// a request cut off by Ctrl-C 130.
func APIError(err error, verb, resource, namespace string) error {
	switch {
	case errors.Is(err, context.Canceled):
		return exitcode.Wrap(exitcode.Interrupted, fmt.Errorf("interrupted while asking the cluster to %s %s: %w", verb, resource, err))
	case IsTLS(err):
		return TLSError(err)
	case apierrors.IsForbidden(err) && strings.Contains(err.Error(), "ValidatingAdmissionPolicy"):
		// RBAC allowed it; an admission policy of the cluster did not.
		return exitcode.Errorf(exitcode.Permission,
			"an admission policy refused to %s %s in namespace %s: %v: ask a cluster admin about the policy (docs/admission-policy.yaml admits only the plugin's own Pods)", verb, resource, namespace, err)
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

// IsTLS reports whether err is a refused TLS certificate: an unknown
// authority, an expired or otherwise invalid certificate, or one for another
// host name. Retrying does not help; the kubeconfig or the cluster must
// change.
func IsTLS(err error) bool {
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var host x509.HostnameError
	var verify *tls.CertificateVerificationError
	if errors.As(err, &unknown) || errors.As(err, &invalid) || errors.As(err, &host) || errors.As(err, &verify) {
		return true
	}
	// Errors that crossed the exec stream or the apiserver arrive as text.
	msg := err.Error()
	return strings.Contains(msg, "x509: ") || strings.Contains(msg, "tls: failed to verify certificate")
}

// TLSError says what a refused certificate means and how to fix it, with
// exit 3 (a kubeconfig problem). A certificate the apiserver refused on its
// way to a node's kubelet is the cluster's problem, not the kubeconfig's.
func TLSError(err error) error {
	if strings.Contains(err.Error(), "dialing backend") {
		return exitcode.Errorf(exitcode.Local,
			"the apiserver does not trust a node's kubelet certificate (%v): ask the cluster admin to renew or approve the kubelet's serving certificate", err)
	}
	return exitcode.Errorf(exitcode.Local,
		"the cluster's TLS certificate was refused (%v): the kubeconfig's certificate-authority-data or server address does not match the cluster, or the certificate expired: fetch a fresh kubeconfig from your cluster provider, or pick the right one with --context / --kubeconfig", err)
}
