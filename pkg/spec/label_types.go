package spec

import (
	"encoding/json"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// Label policies of regression-class tasks.
const (
	PolicyPassthrough = "passthrough"
	PolicyBucket      = "bucket"
	// DefaultPolicy is what --label-policy defaults to: the central backend
	// never sees a raw regression target unless the user asks for it.
	DefaultPolicy = PolicyBucket
)

// Label is the spec's label: the plain column name, or, for the
// regression-class tasks whose schema demands an explicit policy, the object
// {column, policy}.
type Label struct {
	Column string
	// Policy is set for the object form only.
	Policy string
}

// MarshalJSON writes the string form when no policy is set, else the object form.
func (l Label) MarshalJSON() ([]byte, error) {
	if l.Policy == "" {
		return json.Marshal(l.Column)
	}
	return json.Marshal(struct {
		Column string `json:"column"`
		Policy string `json:"policy"`
	}{l.Column, l.Policy})
}

// ValidatePolicy checks a --label-policy value; it exits 2.
func ValidatePolicy(p string) error {
	if p == PolicyPassthrough || p == PolicyBucket {
		return nil
	}
	return exitcode.Errorf(exitcode.BadFlags, "--label-policy %q is not allowed: use bucket (the default: values are binned before they leave the cluster) or passthrough (raw values are sent)", p)
}
