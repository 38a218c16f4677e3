package lock

import (
	"context"
	"strconv"
	"strings"
	"time"

	coordv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/tracebloc/kubectl-tracebloc/pkg/cluster"
	"github.com/tracebloc/kubectl-tracebloc/pkg/naming"
)

// A table's Lease outlives its pushes as the table's record: the staged copy
// (written by Release) and the ingestion runs submitted for it (RecordRun).
// This file is the only writer and reader of those annotations.

// Staged is what a finished push staged. The table's Lease keeps it once
// released, so commands learn the staged tables (shell completion of
// --table) with one list call, without mounting the volume.
type Staged struct {
	Files int
	Bytes int64
	At    time.Time
	// Task is the task the copy was checked for (image_classification, …).
	Task string
}

// Annotations of a released Lease that record the last staged copy.
const (
	AnnotationStagedFiles = "tracebloc.io/staged-files"
	AnnotationStagedBytes = "tracebloc.io/staged-bytes"
	AnnotationStagedAt    = "tracebloc.io/staged-at"
	AnnotationStagedTask  = "tracebloc.io/staged-task"
)

// IsFree reports whether no push holds the Lease.
func IsFree(l *coordv1.Lease) bool { return ptr.Deref(l.Spec.HolderIdentity, "") == "" }

// Record returns the staged copy a Lease records, if any.
func Record(l *coordv1.Lease) (Staged, bool) {
	at, err := time.Parse(time.RFC3339, l.Annotations[AnnotationStagedAt])
	if err != nil {
		return Staged{}, false
	}
	files, _ := strconv.Atoi(l.Annotations[AnnotationStagedFiles])
	bytes, _ := strconv.ParseInt(l.Annotations[AnnotationStagedBytes], 10, 64)
	return Staged{Files: files, Bytes: bytes, At: at, Task: l.Annotations[AnnotationStagedTask]}, true
}

// StagedTables lists the tables whose Leases record a staged copy, by name.
func StagedTables(ctx context.Context, client kubernetes.Interface, namespace string) (map[string]Staged, error) {
	list, err := client.CoordinationV1().Leases(namespace).List(ctx, metav1.ListOptions{LabelSelector: Selector})
	if err != nil {
		return nil, cluster.APIError(err, "list", "leases", namespace)
	}
	tables := map[string]Staged{}
	for i := range list.Items {
		l := &list.Items[i]
		if rec, ok := Record(l); ok && l.Annotations[naming.AnnotationTable] != "" {
			tables[l.Annotations[naming.AnnotationTable]] = rec
		}
	}
	return tables, nil
}

// runAnnotationPrefix marks, on a table's push Lease, the runs submitted
// for it: "run.tracebloc.io/<job>" = <key>. The jobs-manager labels a Job
// with its key only, so this is how a run finds its table again.
const runAnnotationPrefix = "run.tracebloc.io/"

// RecordRun notes on table's push Lease that job ran for it. A table with
// no Lease (or no right to update it) is left alone: the record only helps
// `runs` and `logs TABLE`.
func RecordRun(ctx context.Context, client kubernetes.Interface, namespace, table, job, key string) error {
	leases := client.CoordinationV1().Leases(namespace)
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		l, err := leases.Get(ctx, LeaseName(table), metav1.GetOptions{})
		if err != nil {
			return err
		}
		if l.Annotations == nil {
			l.Annotations = map[string]string{}
		}
		l.Annotations[runAnnotationPrefix+job] = key
		_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
		return err
	})
}

// Runs maps the Jobs that RecordRun noted to their tables. A namespace whose
// Leases cannot be listed gives an empty map: the tables are a convenience.
func Runs(ctx context.Context, client kubernetes.Interface, namespace string) map[string]string {
	tables := map[string]string{}
	leases, err := client.CoordinationV1().Leases(namespace).List(ctx, metav1.ListOptions{LabelSelector: Selector})
	if err != nil {
		return tables
	}
	for _, l := range leases.Items {
		for k := range l.Annotations {
			if job, ok := strings.CutPrefix(k, runAnnotationPrefix); ok {
				tables[job] = l.Annotations[naming.AnnotationTable]
			}
		}
	}
	return tables
}
