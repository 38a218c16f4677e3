package ingest

import (
	"context"
	"fmt"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// TokenSeconds is the lifetime asked for the ingestor's token.
const TokenSeconds = 3600

// Token returns a bearer token for the ingestor ServiceAccount sa: a
// TokenRequest (default audience), else a legacy service-account-token
// Secret of that account. The token is only ever held in memory.
func Token(ctx context.Context, client kubernetes.Interface, namespace, sa string) (string, error) {
	tr := &authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(TokenSeconds))}}
	res, err := client.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, sa, tr, metav1.CreateOptions{})
	if err == nil && res.Status.Token != "" {
		return res.Status.Token, nil
	}
	if err != nil && !apierrors.IsForbidden(err) && !apierrors.IsNotFound(err) {
		// The run cannot be submitted without it: exit 8.
		return "", exitcode.Wrap(exitcode.Submit, fmt.Errorf("requesting a token for service account %s: %w: check the apiserver answers, then push again", sa, err))
	}
	reqErr := err
	if tok, ok := legacyToken(ctx, client, namespace, sa); ok {
		return tok, nil
	}
	why := "the token request failed"
	switch {
	case apierrors.IsNotFound(reqErr):
		why = fmt.Sprintf("service account %s does not exist in namespace %s", sa, namespace)
	case apierrors.IsForbidden(reqErr):
		why = fmt.Sprintf("missing permission: create serviceaccounts/token (on %s) in namespace %s", sa, namespace)
	}
	return "", exitcode.Errorf(exitcode.Permission,
		"no token for the ingestor service account %s: %s, and no legacy token Secret of type %s annotated with it: ask a cluster admin to bind the Role in docs/rbac.yaml (it grants create serviceaccounts/token on %s), or to create such a Secret",
		sa, why, corev1.SecretTypeServiceAccountToken, sa)
}

func legacyToken(ctx context.Context, client kubernetes.Interface, namespace, sa string) (string, bool) {
	list, err := client.CoreV1().Secrets(namespace).List(ctx, metav1.ListOptions{FieldSelector: "type=" + string(corev1.SecretTypeServiceAccountToken)})
	if err != nil {
		return "", false
	}
	for _, s := range list.Items {
		if s.Type == corev1.SecretTypeServiceAccountToken && s.Annotations[corev1.ServiceAccountNameKey] == sa && len(s.Data[corev1.ServiceAccountTokenKey]) > 0 {
			return string(s.Data[corev1.ServiceAccountTokenKey]), true
		}
	}
	return "", false
}
