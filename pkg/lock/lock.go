// Package lock holds a coordination.k8s.io Lease per table, so two pushes of
// the same table never stage at once.
//
// A holder renews its Lease every third of its duration. Another client
// judges a Lease expired only by its own clock: when the Lease's record has
// not changed for the Lease's duration since that client first saw it (see
// Observer); the clocks of two machines are never compared. A Lease held by
// a process of this same machine that has ended is taken over at once.
//
// A push learns when it loses its Lease: Held.Lost is closed and Held.Err
// says why, Held.Context cancels its work, and Held.Check, called right
// before a step that must not race another push (the swap), confirms and
// renews the hold or fails with exit 7.
package lock

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
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
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"

	"github.com/tracebloc/kubectl-tracebloc/pkg/cluster"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/naming"
)

// ComponentLock labels the Leases of this package.
const ComponentLock = naming.ComponentLock

// Selector finds every push Lease.
const Selector = naming.LockSelector

// AnnotationHolderTable is the table name, as typed, of the push that holds
// the Lease. One Lease covers every spelling of a table (Cats, cats), so the
// holder's spelling may differ from the one naming.AnnotationTable records.
const AnnotationHolderTable = "tracebloc.io/holder-table"

// LeaseName is the Lease of table: readable, and the same for every case of
// the name. Staging volumes may ignore case (Cats and cats are one folder
// there), so tables that differ only in case share one Lease.
func LeaseName(table string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(table)))
	return "tracebloc-push-" + naming.Slug(table) + "-" + hex.EncodeToString(sum[:4])
}

// Expired reports whether a Lease is free or, by the holder's renew time
// read against now, past its duration. It compares two machines' clocks, so
// it is only a hint for display: decisions use an Observer.
func Expired(l *coordv1.Lease, now time.Time) bool {
	if IsFree(l) || l.Spec.RenewTime == nil || l.Spec.LeaseDurationSeconds == nil {
		return true
	}
	return now.After(l.Spec.RenewTime.Add(time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second))
}

// ErrLost is wrapped by the errors of a push that no longer holds its Lease:
// another client took it over, or it could not be renewed in time.
var ErrLost = errors.New("the push Lease was lost")

// Option tunes Acquire.
type Option func(*config)

type config struct {
	clock    clock.WithTicker
	warn     func(format string, args ...any)
	observer *Observer
	machine  machine
}

// withClock makes the Lease logic run on clk instead of the real clock.
func withClock(clk clock.WithTicker) Option { return func(c *config) { c.clock = clk } }

// WithWarnings sends what the user should know to warn (e.g. a printer's
// Warnf): a Lease taken over, a renewal that failed and is retried.
func WithWarnings(warn func(format string, args ...any)) Option {
	return func(c *config) { c.warn = warn }
}

func withMachine(m machine) Option { return func(c *config) { c.machine = m } }

func newConfig(holder string, opts []Option) config {
	c := config{clock: clock.RealClock{}, warn: func(string, ...any) {}, machine: localMachine()}
	for _, o := range opts {
		o(&c)
	}
	c.observer = NewObserver(c.clock)
	if who, _, ok := parseHolder(holder); ok && c.machine.who == "" {
		c.machine.who = who
	}
	return c
}

// Held is a Lease this client holds, renewed in the background until
// Release. Its methods are safe for concurrent use.
type Held struct {
	client    kubernetes.Interface
	namespace string
	name      string
	table     string
	holder    string
	ttl       time.Duration
	clock     clock.WithTicker
	warn      func(format string, args ...any)

	// fresh: the Lease did not exist before this client created it.
	fresh bool

	mu        sync.Mutex
	lastRenew time.Time // our clock, when the last renewal that succeeded was sent
	err       error     // why the Lease was lost; nil while held
	lost      chan struct{}
	stop      chan struct{}
	done      chan struct{}
	released  bool
}

// Acquire takes the Lease of table for holder. A free Lease, an expired one
// or one whose holder was a process of this machine that ended is taken at
// once (a takeover is said through WithWarnings). A Lease held by anyone
// else is watched for up to its duration: if its holder renews it, Acquire
// refuses (exit 7) naming that holder; if nobody renews it, it has expired
// and is taken over.
func Acquire(ctx context.Context, client kubernetes.Interface, namespace, table, holder string, ttl time.Duration, opts ...Option) (*Held, error) {
	return acquire(ctx, client, namespace, table, holder, ttl, true, opts)
}

func acquire(ctx context.Context, client kubernetes.Interface, namespace, table, holder string, ttl time.Duration, wait bool, opts []Option) (*Held, error) {
	c := newConfig(holder, opts)
	leases := client.CoordinationV1().Leases(namespace)
	name := LeaseName(table)
	poll := max(ttl/30, 100*time.Millisecond)
	var watched string // the record first met while waiting
	for {
		cur, err := leases.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			err = create(ctx, leases, c, namespace, name, table, holder, ttl)
			if apierrors.IsAlreadyExists(err) {
				continue // another push created it first: look at it
			}
			if err != nil {
				return nil, cluster.APIError(err, "create", "leases", namespace)
			}
			h := start(client, c, namespace, name, table, holder, ttl)
			h.fresh = true
			return h, nil
		}
		if err != nil {
			return nil, cluster.APIError(err, "get", "leases", namespace)
		}
		h := ptr.Deref(cur.Spec.HolderIdentity, "")
		why := ""
		switch gone, reason := c.machine.holderGone(leaseView{holder: h, process: cur.Annotations[AnnotationHolderProcess]}); {
		case IsFree(cur) || h == holder:
		case gone:
			why = reason
		case c.observer.Expired(cur, ttl):
			why = fmt.Sprintf("nobody renewed it for %s", duration(cur, ttl))
		case !wait:
			return nil, busy(table, cur)
		case watched != "" && watched != record(cur):
			// Renewed (or handed over) while we watched: a live push.
			return nil, busy(table, cur)
		default:
			if watched == "" {
				watched = record(cur)
				c.warn("table %s is held by %s (Lease %s): waiting up to %s to see whether that push is alive",
					table, h, name, duration(cur, ttl))
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-c.clock.After(poll):
			}
			continue
		}
		err = take(ctx, leases, c, cur, table, holder, ttl)
		if apierrors.IsConflict(err) {
			continue // it changed under us: look again
		}
		if err != nil {
			return nil, cluster.APIError(err, "update", "leases", namespace)
		}
		if why != "" {
			c.warn("took over Lease %s of table %s from %s: %s", name, table, h, why)
		}
		return start(client, c, namespace, name, table, holder, ttl), nil
	}
}

func holderSpec(c config, l *coordv1.Lease, table, holder string, ttl time.Duration) {
	now := metav1.NewMicroTime(c.clock.Now())
	if ptr.Deref(l.Spec.HolderIdentity, "") != holder {
		l.Spec.LeaseTransitions = ptr.To(ptr.Deref(l.Spec.LeaseTransitions, 0) + 1)
	}
	l.Spec.HolderIdentity = &holder
	l.Spec.LeaseDurationSeconds = ptr.To(int32(ttl.Seconds()))
	l.Spec.AcquireTime, l.Spec.RenewTime = &now, &now
	if l.Annotations == nil {
		l.Annotations = map[string]string{}
	}
	l.Annotations[AnnotationHolderTable] = table
	l.Annotations[AnnotationHolderProcess] = c.machine.stamp()
}

func create(ctx context.Context, leases coordclient.LeaseInterface, c config, namespace, name, table, holder string, ttl time.Duration) error {
	l := &coordv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace,
		Labels:      map[string]string{naming.LabelManagedBy: naming.ManagedBy, naming.LabelComponent: ComponentLock, naming.LabelTable: naming.TableLabel(table)},
		Annotations: map[string]string{naming.AnnotationTable: table}}}
	holderSpec(c, l, table, holder, ttl)
	l.Spec.LeaseTransitions = ptr.To(int32(0))
	_, err := leases.Create(ctx, l, metav1.CreateOptions{})
	return err
}

// take updates the Lease read as cur; its resource version makes the update
// fail with a conflict if anyone changed it since.
func take(ctx context.Context, leases coordclient.LeaseInterface, c config, cur *coordv1.Lease, table, holder string, ttl time.Duration) error {
	l := cur.DeepCopy()
	holderSpec(c, l, table, holder, ttl)
	_, err := leases.Update(ctx, l, metav1.UpdateOptions{})
	return err
}

func start(client kubernetes.Interface, c config, namespace, name, table, holder string, ttl time.Duration) *Held {
	h := &Held{client: client, namespace: namespace, name: name, table: table, holder: holder, ttl: ttl,
		clock: c.clock, warn: c.warn, lastRenew: c.clock.Now(),
		lost: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	go h.renewLoop()
	return h
}

func busy(table string, l *coordv1.Lease) error {
	as := ""
	if t := l.Annotations[AnnotationHolderTable]; t != "" && t != table {
		as = fmt.Sprintf(" as %s", t)
	}
	return exitcode.Errorf(exitcode.Staging,
		"table %s is being pushed%s by %s (Lease %s): wait for that push to finish; if its client died, the Lease is taken over once nobody renews it for %s",
		table, as, ptr.Deref(l.Spec.HolderIdentity, "another client"), l.Name, duration(l, 0))
}

// Lost is closed when this client no longer holds the Lease: another client
// took it over, or it could not be renewed for its duration (others may then
// take it). Err says which.
func (h *Held) Lost() <-chan struct{} { return h.lost }

// Err is nil while the Lease is held, then the exit-7 error that says how it
// was lost; it wraps ErrLost.
func (h *Held) Err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// Fresh says the Lease did not exist before this client created it: no
// push has staged the table since the Lease was last deleted. A push that
// failed or was interrupted deletes its Lease too, so the volume may still
// hold the partial copy it left (and a staged copy, if the Lease was
// deleted by hand). Only a hint, for work worth doing early.
func (h *Held) Fresh() bool { return h.fresh }

// Name is the Lease's name.
func (h *Held) Name() string { return h.name }

// Context returns a context that is cancelled, with Err as its cause
// (context.Cause), when the Lease is lost. Call cancel when done with it.
func (h *Held) Context(parent context.Context) (ctx context.Context, cancel context.CancelFunc) {
	ctx, stop := context.WithCancelCause(parent)
	go func() {
		select {
		case <-h.lost:
			stop(h.Err())
		case <-ctx.Done():
		}
	}()
	return ctx, func() { stop(context.Canceled) }
}

// Check re-reads the Lease and renews it. It returns nil when this client
// holds the Lease for at least half its duration more by our clock, and an
// exit-7 error wrapping ErrLost when another client holds it or it could not
// be renewed in time. Call it right before a step that must not race another
// push of the table: the swap of the staged copy.
func (h *Held) Check(ctx context.Context) error {
	if err := h.Err(); err != nil {
		return err
	}
	err := h.renew(ctx)
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrLost) {
		return err
	}
	// Nobody takes a Lease over before it went unrenewed for its whole
	// duration: half of it left is ample for one step.
	h.mu.Lock()
	since := h.clock.Since(h.lastRenew)
	h.mu.Unlock()
	if since <= h.ttl/2 {
		return nil
	}
	return h.lose(errNotRenewed(h.table, h.name, h.ttl, err))
}

// renewLoop renews every third of the duration, and sooner after a failure,
// until Release or until the Lease is lost.
func (h *Held) renewLoop() {
	defer close(h.done)
	every, retry := h.ttl/3, max(h.ttl/15, 100*time.Millisecond)
	wait := every
	for {
		select {
		case <-h.stop:
			return
		case <-h.clock.After(wait):
		}
		ctx, cancel := context.WithTimeout(context.Background(), every)
		err := h.renew(ctx)
		cancel()
		switch {
		case err == nil:
			wait = every
		case errors.Is(err, ErrLost):
			return
		default:
			h.mu.Lock()
			since := h.clock.Since(h.lastRenew)
			h.mu.Unlock()
			if since >= h.ttl {
				_ = h.lose(errNotRenewed(h.table, h.name, h.ttl, err))
				return
			}
			h.warn("could not renew the Lease of table %s: %v; retrying (the push stops if it is not renewed within %s)",
				h.table, err, (h.ttl - since).Round(time.Second))
			wait = retry
		}
	}
}

// renew reads the Lease and, if this client still holds it, sets its renew
// time. A Lease held by another client, or gone, is lost (ErrLost).
func (h *Held) renew(ctx context.Context) error {
	sent := h.clock.Now()
	leases := h.client.CoordinationV1().Leases(h.namespace)
	cur, err := leases.Get(ctx, h.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return h.lose(errTaken(h.table, h.name, ""))
	}
	if err != nil {
		return err
	}
	if other := ptr.Deref(cur.Spec.HolderIdentity, ""); other != h.holder {
		return h.lose(errTaken(h.table, h.name, other))
	}
	cur.Spec.RenewTime = ptr.To(metav1.NewMicroTime(sent))
	if _, err := leases.Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		return err
	}
	h.mu.Lock()
	if h.err == nil {
		h.lastRenew = sent
	}
	h.mu.Unlock()
	return nil
}

// lose records why the Lease was lost, once, and closes Lost.
func (h *Held) lose(err error) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err == nil {
		h.err = err
		close(h.lost)
	}
	return h.err
}

func errTaken(table, name, other string) error {
	by := "deleted or freed"
	if other != "" {
		by = "taken over by " + other
	}
	return exitcode.Wrap(exitcode.Staging, fmt.Errorf("%w: Lease %s of table %s was %s while this push ran, so another push may be staging the table: check it with kubectl tracebloc status, then push again",
		ErrLost, name, table, by))
}

func errNotRenewed(table, name string, ttl time.Duration, cause error) error {
	return exitcode.Wrap(exitcode.Staging, fmt.Errorf("%w: could not renew Lease %s of table %s for %s (%v), so another push may take the table over: check the connection to the cluster, then push again",
		ErrLost, name, table, ttl, cause))
}

// stopRenewing ends the background renewal; it is safe to call twice.
func (h *Held) stopRenewing() {
	h.mu.Lock()
	first := !h.released
	h.released = true
	h.mu.Unlock()
	if first {
		close(h.stop)
	}
	<-h.done
}

// Release stops renewing and gives the Lease up if this client still holds
// it. With staged (the push succeeded) the Lease stays, free, as the record
// of the table, under this push's spelling of the table name; a Lease that
// already holds a record stays too; any other is deleted. A lost Lease is
// left alone.
func (h *Held) Release(ctx context.Context, staged *Staged) error {
	h.stopRenewing()
	leases := h.client.CoordinationV1().Leases(h.namespace)
	cur, err := leases.Get(ctx, h.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if ptr.Deref(cur.Spec.HolderIdentity, "") != h.holder {
		return nil
	}
	if staged != nil {
		if cur.Annotations == nil {
			cur.Annotations = map[string]string{}
		}
		cur.Annotations[naming.AnnotationTable] = h.table
		cur.Annotations[AnnotationStagedFiles] = strconv.Itoa(staged.Files)
		cur.Annotations[AnnotationStagedBytes] = strconv.FormatInt(staged.Bytes, 10)
		cur.Annotations[AnnotationStagedAt] = staged.At.UTC().Format(time.RFC3339)
		if staged.Task != "" {
			cur.Annotations[AnnotationStagedTask] = staged.Task
		} else {
			delete(cur.Annotations, AnnotationStagedTask)
		}
	}
	_, err = giveUp(ctx, leases, cur)
	return err
}

// giveUp gives a Lease up: one that records a staged copy is freed and kept
// (kept is true), any other is deleted.
func giveUp(ctx context.Context, leases coordclient.LeaseInterface, cur *coordv1.Lease) (kept bool, err error) {
	if _, ok := Record(cur); ok {
		clearHolder(cur)
		_, err = leases.Update(ctx, cur, metav1.UpdateOptions{})
		return true, err
	}
	err = leases.Delete(ctx, cur.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &cur.UID}})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return false, err
}

// clearHolder clears the holder of a Lease: any push may take it.
func clearHolder(l *coordv1.Lease) {
	l.Spec.HolderIdentity, l.Spec.AcquireTime, l.Spec.RenewTime = nil, nil, nil
	delete(l.Annotations, AnnotationHolderTable)
	delete(l.Annotations, AnnotationHolderProcess)
}
