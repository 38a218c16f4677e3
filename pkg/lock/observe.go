package lock

import (
	"strconv"
	"sync"
	"time"

	coordv1 "k8s.io/api/coordination/v1"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
)

// Observer judges whether Leases have expired by this machine's clock alone.
// The renew time inside a Lease was written by its holder's clock, which may
// be hours ahead or behind ours, so it is never compared with our time.
// Instead the Observer remembers when it first saw each record (holder,
// renew time, transitions, resource version) of a Lease: a record that has
// not changed for the Lease's duration, measured from that moment on our
// clock, belongs to a holder that stopped renewing.
//
// An Observer is safe for concurrent use. One that lives longer (a command
// that looks at the same Leases twice) learns sooner.
type Observer struct {
	clock clock.PassiveClock
	mu    sync.Mutex
	seen  map[string]sighting
}

type sighting struct {
	record string
	at     time.Time
}

// NewObserver returns an Observer on clk (clock.RealClock{} for real use).
func NewObserver(clk clock.PassiveClock) *Observer {
	return &Observer{clock: clk, seen: map[string]sighting{}}
}

// Expired reports whether l is free, or held by a holder that has not renewed
// it for its duration as observed here. A held Lease seen for the first time
// is not expired: it takes one duration of watching to know. def is the
// duration of a Lease that states none.
func (o *Observer) Expired(l *coordv1.Lease, def time.Duration) bool {
	if IsFree(l) {
		return true
	}
	return o.Unchanged(l) >= duration(l, def)
}

// Unchanged records l and returns how long, by our clock, its record has
// been the same: zero the first time it is seen or after it changed.
func (o *Observer) Unchanged(l *coordv1.Lease) time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.clock.Now()
	key := l.Namespace + "/" + l.Name
	rec := record(l)
	s, ok := o.seen[key]
	if !ok || s.record != rec {
		o.seen[key] = sighting{record: rec, at: now}
		return 0
	}
	return now.Sub(s.at)
}

// record is what changes whenever a holder renews, hands over or gives up a
// Lease. The resource version alone would do on a real API server; the
// spec fields keep it right where versions are not kept.
func record(l *coordv1.Lease) string {
	renew := ""
	if l.Spec.RenewTime != nil {
		renew = l.Spec.RenewTime.UTC().Format(time.RFC3339Nano)
	}
	return ptr.Deref(l.Spec.HolderIdentity, "") + "|" + renew + "|" +
		strconv.Itoa(int(ptr.Deref(l.Spec.LeaseTransitions, 0))) + "|" + l.ResourceVersion
}

func duration(l *coordv1.Lease, def time.Duration) time.Duration {
	if s := ptr.Deref(l.Spec.LeaseDurationSeconds, 0); s > 0 {
		return time.Duration(s) * time.Second
	}
	return def
}
