package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/url"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

func TestAPIError(t *testing.T) {
	api := func(err error) error {
		return &url.Error{Op: "Get", URL: "https://198.18.0.1:6443/apis/apps/v1", Err: err}
	}
	tests := []struct {
		name     string
		err      error
		wantCode int
		wantText string
	}{
		{name: "cut off by Ctrl-C", err: api(context.Canceled), wantCode: exitcode.Interrupted, wantText: "interrupted while asking the cluster to list deployments"},
		{name: "unreachable", err: api(errors.New("connection refused")), wantCode: exitcode.Local, wantText: "cannot reach the cluster"},
		{name: "unknown authority", err: api(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), wantCode: exitcode.Local, wantText: "certificate-authority-data"},
		{name: "expired", err: api(x509.CertificateInvalidError{Reason: x509.Expired}), wantCode: exitcode.Local, wantText: "fetch a fresh kubeconfig"},
		{name: "another host", err: api(x509.HostnameError{Host: "198.18.0.1", Certificate: &x509.Certificate{}}), wantCode: exitcode.Local, wantText: "TLS certificate was refused"},
		{name: "kubelet certificate", err: errors.New("error dialing backend: tls: failed to verify certificate: x509: certificate signed by unknown authority"), wantCode: exitcode.Local, wantText: "kubelet"},
		{name: "forbidden", err: apierrors.NewForbidden(schema.GroupResource{Resource: "deployments"}, "", errors.New("no")), wantCode: exitcode.Permission, wantText: "missing permission: list deployments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := APIError(tt.err, "list", "deployments", "tb")
			if code := exitcode.Of(err); code != tt.wantCode || !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("APIError = %v (exit %d), want exit %d saying %q", err, code, tt.wantCode, tt.wantText)
			}
		})
	}
}
