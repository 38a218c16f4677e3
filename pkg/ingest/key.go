package ingest

import (
	"crypto/rand"
	"encoding/hex"
	"regexp"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

var keyRule = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// RunLabel is the label the jobs-manager puts on a run's Job, valued with
// the run's idempotency key.
const RunLabel = "tracebloc.io/ingestion-run"

// ValidateKey checks a user-given idempotency key against the jobs-manager's rule.
func ValidateKey(key string) error {
	if keyRule.MatchString(key) {
		return nil
	}
	return exitcode.Errorf(exitcode.BadFlags,
		"--idempotency-key %q is not allowed: use 1 to 64 letters, digits, '.', '_' or '-' (e.g. --idempotency-key=cats-2026-07-30)", key)
}

// NewKey returns a fresh random idempotency key.
func NewKey() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "tb-" + hex.EncodeToString(b)
}
