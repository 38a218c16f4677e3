// Package naming holds the names the plugin gives what it creates in a
// namespace: the labels and annotations that mark its Pods and Leases, the
// selectors that find them again, and the one rule that turns a table name
// into part of an object name. It imports nothing of the plugin, so every
// package that creates or finds those objects can share it.
package naming

import "strings"

// Labels and annotations that mark what the plugin creates.
const (
	LabelManagedBy    = "app.kubernetes.io/managed-by"
	ManagedBy         = "kubectl-tracebloc"
	LabelComponent    = "tracebloc.io/component"
	ComponentStagePod = "stage-pod"
	// ComponentHelperPod marks the Pods of status and cleanup.
	ComponentHelperPod = "helper-pod"
	// ComponentLock marks the per-table push Leases.
	ComponentLock       = "push-lock"
	LabelTable          = "tracebloc.io/table"
	AnnotationTable     = "tracebloc.io/table"
	AnnotationCreatedBy = "tracebloc.io/created-by"
	AnnotationCreatedAt = "tracebloc.io/created-at"
	// AnnotationHolder names the push that owns a Pod (its Lease holder).
	AnnotationHolder = "tracebloc.io/holder"
)

// Selectors that find what the plugin creates.
const (
	// StagePodSelector finds every stage Pod.
	StagePodSelector = LabelManagedBy + "=" + ManagedBy + "," + LabelComponent + "=" + ComponentStagePod
	// AnyPodSelector finds every Pod the plugin creates: stage and helper Pods.
	AnyPodSelector = LabelManagedBy + "=" + ManagedBy + "," + LabelComponent + " in (" + ComponentStagePod + "," + ComponentHelperPod + ")"
	// LockSelector finds every push Lease.
	LockSelector = LabelManagedBy + "=" + ManagedBy + "," + LabelComponent + "=" + ComponentLock
)

// maxSlug keeps a table's part of an object name short enough that the
// prefix and suffix around it stay within DNS-1123's 63 characters.
const maxSlug = 40

// Slug is table as part of a DNS-1123 object name: lower case, '_' as '-',
// no '-' at either end, at most 40 characters; "table" when nothing is left.
// Tables that differ only in case or in '_' against '-' share a slug, so a
// name built from it needs a suffix that tells them apart.
func Slug(table string) string {
	t := strings.Trim(strings.ReplaceAll(strings.ToLower(table), "_", "-"), "-")
	if len(t) > maxSlug {
		t = strings.TrimRight(t[:maxSlug], "-")
	}
	if t == "" {
		t = "table"
	}
	return t
}

// TableLabel returns a label value for table: label values must start and end
// with a letter or digit. The exact name is in the table annotation.
func TableLabel(table string) string {
	t := strings.Trim(table, "_")
	if len(t) > 63 {
		t = strings.TrimRight(t[:63], "_")
	}
	return t
}
