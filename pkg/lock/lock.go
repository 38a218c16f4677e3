// Package lock holds a coordination.k8s.io Lease per table, so two pushes of
// the same table never stage at once. A Lease left by a client that died
// expires after its duration and is taken over.
package lock

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	coordv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	coordclient "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/utils/ptr"

	"github.com/tracebloc/kubectl-tracebloc/pkg/cluster"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/stage"
)

// ComponentLock labels the Leases of this package.
const ComponentLock = "push-lock"

// Selector finds every push Lease.
const Selector = stage.LabelManagedBy + "=" + stage.ManagedBy + "," + stage.LabelComponent + "=" + ComponentLock

// LeaseName is the Lease of table: readable, and unique per exact name.
func LeaseName(table string) string {
	sum := sha256.Sum256([]byte(table))
	t := strings.Trim(strings.ReplaceAll(strings.ToLower(table), "_", "-"), "-")
	if len(t) > 40 {
		t = strings.TrimRight(t[:40], "-")
	}
	if t == "" {
		t = "table"
	}
	return "tracebloc-push-" + t + "-" + hex.EncodeToString(sum[:4])
}

// Expired reports whether a Lease is free or its holder stopped renewing it.
func Expired(l *coordv1.Lease, now time.Time) bool {
	if Free(l) || l.Spec.RenewTime == nil || l.Spec.LeaseDurationSeconds == nil {
		return true
	}
	return now.After(l.Spec.RenewTime.Add(time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second))
}

// Lock is a held Lease, renewed in the background until Release.
type Lock struct {
	client    kubernetes.Interface
	namespace string
	name      string
	holder    string
	stop      chan struct{}
	wg        sync.WaitGroup
}

// Acquire takes the Lease of table for holder, or refuses (exit 7) naming
// the push that holds it.
func Acquire(ctx context.Context, client kubernetes.Interface, namespace, table, holder string, ttl time.Duration) (*Lock, error) {
	leases := client.CoordinationV1().Leases(namespace)
	name := LeaseName(table)
	now := metav1.NewMicroTime(time.Now())
	spec := coordv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: ptr.To(int32(ttl.Seconds())), AcquireTime: &now, RenewTime: &now}
	existing, err := leases.Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		lease := &coordv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace,
			Labels:      map[string]string{stage.LabelManagedBy: stage.ManagedBy, stage.LabelComponent: ComponentLock, stage.LabelTable: stage.TableLabel(table)},
			Annotations: map[string]string{stage.AnnotationTable: table}}, Spec: spec}
		if _, err := leases.Create(ctx, lease, metav1.CreateOptions{}); apierrors.IsAlreadyExists(err) {
			return nil, busy(table, nil)
		} else if err != nil {
			return nil, cluster.APIError(err, "create", "leases", namespace)
		}
	case err != nil:
		return nil, cluster.APIError(err, "get", "leases", namespace)
	case !Expired(existing, time.Now()):
		return nil, busy(table, existing)
	default:
		existing.Spec = spec
		if _, err := leases.Update(ctx, existing, metav1.UpdateOptions{}); apierrors.IsConflict(err) {
			return nil, busy(table, nil)
		} else if err != nil {
			return nil, cluster.APIError(err, "update", "leases", namespace)
		}
	}
	l := &Lock{client: client, namespace: namespace, name: name, holder: holder, stop: make(chan struct{})}
	l.wg.Add(1)
	go l.renew(ttl / 3)
	return l, nil
}

func busy(table string, l *coordv1.Lease) error {
	if l == nil || l.Spec.HolderIdentity == nil {
		return exitcode.Errorf(exitcode.Staging, "another push of table %s started at the same moment: wait for it to finish, then push again", table)
	}
	renewed := "never"
	if l.Spec.RenewTime != nil {
		renewed = time.Since(l.Spec.RenewTime.Time).Round(time.Second).String() + " ago"
	}
	return exitcode.Errorf(exitcode.Staging,
		"table %s is being pushed by %s (Lease %s, renewed %s): wait for that push to finish; if its client died, the Lease expires %ds after its last renewal",
		table, *l.Spec.HolderIdentity, l.Name, renewed, ptr.Deref(l.Spec.LeaseDurationSeconds, 0))
}

func (l *Lock) renew(every time.Duration) {
	defer l.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), every)
			leases := l.client.CoordinationV1().Leases(l.namespace)
			if cur, err := leases.Get(ctx, l.name, metav1.GetOptions{}); err == nil && ptr.Deref(cur.Spec.HolderIdentity, "") == l.holder {
				cur.Spec.RenewTime = ptr.To(metav1.NewMicroTime(time.Now()))
				_, _ = leases.Update(ctx, cur, metav1.UpdateOptions{})
			}
			cancel()
		}
	}
}

// Staged is what a finished push staged. The table's Lease keeps it once
// released, so commands learn the staged tables (shell completion of
// --table) with one list call, without mounting the volume.
type Staged struct {
	Files int
	Bytes int64
	At    time.Time
}

// Annotations of a released Lease that record the last staged copy.
const (
	AnnotationStagedFiles = "tracebloc.io/staged-files"
	AnnotationStagedBytes = "tracebloc.io/staged-bytes"
	AnnotationStagedAt    = "tracebloc.io/staged-at"
)

// Release stops renewing and gives the Lease up if this push still holds
// it. With staged (the push succeeded) the Lease stays, free, as the record
// of the table; a Lease that already holds a record stays too; any other is
// deleted.
func (l *Lock) Release(ctx context.Context, staged *Staged) error {
	close(l.stop)
	l.wg.Wait()
	leases := l.client.CoordinationV1().Leases(l.namespace)
	cur, err := leases.Get(ctx, l.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if ptr.Deref(cur.Spec.HolderIdentity, "") != l.holder {
		return nil
	}
	if staged != nil {
		if cur.Annotations == nil {
			cur.Annotations = map[string]string{}
		}
		cur.Annotations[AnnotationStagedFiles] = strconv.Itoa(staged.Files)
		cur.Annotations[AnnotationStagedBytes] = strconv.FormatInt(staged.Bytes, 10)
		cur.Annotations[AnnotationStagedAt] = staged.At.UTC().Format(time.RFC3339)
	}
	_, err = end(ctx, leases, cur)
	return err
}

// end gives a Lease up: one that records a staged copy is freed and kept
// (kept is true), any other is deleted.
func end(ctx context.Context, leases coordclient.LeaseInterface, cur *coordv1.Lease) (kept bool, err error) {
	if _, ok := Record(cur); ok {
		free(cur)
		_, err = leases.Update(ctx, cur, metav1.UpdateOptions{})
		return true, err
	}
	err = leases.Delete(ctx, cur.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &cur.UID}})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return false, err
}

// free clears the holder of a Lease: any push may take it.
func free(l *coordv1.Lease) {
	l.Spec.HolderIdentity, l.Spec.AcquireTime, l.Spec.RenewTime = nil, nil, nil
}

// Free reports whether no push holds the Lease.
func Free(l *coordv1.Lease) bool { return ptr.Deref(l.Spec.HolderIdentity, "") == "" }

// Record returns the staged copy a Lease records, if any.
func Record(l *coordv1.Lease) (Staged, bool) {
	at, err := time.Parse(time.RFC3339, l.Annotations[AnnotationStagedAt])
	if err != nil {
		return Staged{}, false
	}
	files, _ := strconv.Atoi(l.Annotations[AnnotationStagedFiles])
	bytes, _ := strconv.ParseInt(l.Annotations[AnnotationStagedBytes], 10, 64)
	return Staged{Files: files, Bytes: bytes, At: at}, true
}

// Abandon ends the Lease of a push that died: a Lease that records a staged
// copy is freed and kept (kept is true), any other is deleted.
func Abandon(ctx context.Context, client kubernetes.Interface, namespace, name string) (kept bool, err error) {
	leases := client.CoordinationV1().Leases(namespace)
	cur, err := leases.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return end(ctx, leases, cur)
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
		if rec, ok := Record(l); ok && l.Annotations[stage.AnnotationTable] != "" {
			tables[l.Annotations[stage.AnnotationTable]] = rec
		}
	}
	return tables, nil
}

// Holder names this client for other pushes: who, where, which process.
func Holder(user, host string, pid int, nonce string) string {
	return fmt.Sprintf("%s@%s pid %d (%s)", user, host, pid, nonce)
}
