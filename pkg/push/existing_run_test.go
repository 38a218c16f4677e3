package push

import (
	"context"
	"errors"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// When the Jobs of the key cannot be listed, the push must not go on to
// stage again: a run of that key may be reading the staged copy right now.
func TestExistingRunListErrorStopsThePush(t *testing.T) {
	client := fake.NewClientset()
	client.PrependReactor("list", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewInternalError(errors.New("etcd timeout"))
	})
	conn := &Connection{Client: client, Namespace: "tb"}
	job, err := existingRun(context.Background(), Options{Ingest: IngestOptions{IdempotencyKey: "k1"}}, conn)
	if err == nil || job != "" {
		t.Fatalf("existing run %q, error %v: want an error", job, err)
	}
	if code := exitcode.Of(err); code != exitcode.Cluster {
		t.Errorf("exit %d, want %d (%v)", code, exitcode.Cluster, err)
	}
}

// Keys the jobs-manager's rule allows but a label value does not (64
// characters, a '.', '_' or '-' at an end) ask the apiserver nothing: the
// selector would be refused, and no Job can carry them.
func TestExistingRunKeyThatIsNoLabelValue(t *testing.T) {
	client := fake.NewClientset()
	client.PrependReactor("list", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewBadRequest("unable to parse requirement")
	})
	conn := &Connection{Client: client, Namespace: "tb"}
	for _, key := range []string{"run.", "-run", "_", strings.Repeat("a", 64)} {
		job, err := existingRun(context.Background(), Options{Ingest: IngestOptions{IdempotencyKey: key}}, conn)
		if err != nil || job != "" {
			t.Errorf("key %q: existing run %q, error %v: want none", key, job, err)
		}
	}
}
