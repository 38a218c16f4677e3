package ingest

import (
	"crypto/rand"
	"encoding/hex"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// RunLabel is the label the jobs-manager puts on a run's Job, valued with
// the run's idempotency key.
const RunLabel = "tracebloc.io/ingestion-run"

// ValidateKey checks a user-given idempotency key. The jobs-manager takes
// 1 to 64 of [A-Za-z0-9._-], but it labels the run's Job with the key, so
// only a key that is also a label value (at most 63 characters, a letter or
// digit at each end) makes a run that can be found and attached to again.
func ValidateKey(key string) error {
	if key != "" && len(validation.IsValidLabelValue(key)) == 0 {
		return nil
	}
	return exitcode.Errorf(exitcode.BadFlags,
		"--idempotency-key %q is not allowed: the run's Job is labelled with it, so it must be a Kubernetes label value: "+
			"1 to 63 letters, digits, '.', '_' or '-', beginning and ending with a letter or digit (e.g. --idempotency-key=cats-2026-07-30)", key)
}

// NewKey returns a fresh random idempotency key.
func NewKey() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "tb-" + hex.EncodeToString(b)
}
