package lock

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	coordv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/naming"
)

const ttl = 30 * time.Second

// epoch is our clock's start in every test.
var epoch = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// nobody is a machine whose user never holds the Leases of these tests, so
// no holder is judged as a local process unless a test says so.
var nobody = machine{who: "tester@here", id: "boot0", pid: 9, start: func(int) (string, bool) { return "", true }}

// warnings collects what the lock tells the user.
type warnings struct {
	mu    sync.Mutex
	lines []string
}

func (w *warnings) warnf(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lines = append(w.lines, fmt.Sprintf(format, args...))
}

func (w *warnings) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.lines, "\n")
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func getLease(t *testing.T, client *fake.Clientset, table string) *coordv1.Lease {
	t.Helper()
	l, err := client.CoordinationV1().Leases("tb").Get(context.Background(), LeaseName(table), metav1.GetOptions{})
	must(t, err)
	return l
}

// putHolder writes a Lease of table held by holder, renewed at renew by the
// holder's clock, as another client would.
func putHolder(t *testing.T, client *fake.Clientset, table, holder, process string, renew time.Time) {
	t.Helper()
	l := &coordv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: LeaseName(table), Namespace: "tb",
		Labels:      map[string]string{naming.LabelManagedBy: naming.ManagedBy, naming.LabelComponent: ComponentLock},
		Annotations: map[string]string{naming.AnnotationTable: table, AnnotationHolderProcess: process}},
		Spec: coordv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: ptr.To(int32(30)),
			RenewTime: ptr.To(metav1.NewMicroTime(renew))}}
	leases := client.CoordinationV1().Leases("tb")
	if _, err := leases.Get(context.Background(), l.Name, metav1.GetOptions{}); err == nil {
		_, err = leases.Update(context.Background(), l, metav1.UpdateOptions{})
		must(t, err)
		return
	}
	_, err := leases.Create(context.Background(), l, metav1.CreateOptions{})
	must(t, err)
}

type acquired struct {
	held *Held
	err  error
}

// drive runs acquire while stepping the fake clock whenever the lock waits
// on it; every step, onStep may play another client. It returns the result
// and the time that passed on our clock.
func drive(t *testing.T, fc *clocktesting.FakeClock, acquire func() (*Held, error), onStep func(elapsed time.Duration)) (acquired, time.Duration) {
	t.Helper()
	res := make(chan acquired, 1)
	go func() {
		h, err := acquire()
		res <- acquired{h, err}
	}()
	begin := fc.Now()
	// A guard against a hang only: each fake second waits for the
	// acquiring goroutine to sleep again, which a loaded machine delays.
	deadline := time.Now().Add(time.Minute)
	for {
		select {
		case r := <-res:
			return r, fc.Since(begin)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("acquire still waits after %s on our clock", fc.Since(begin))
		}
		if !fc.HasWaiters() {
			time.Sleep(time.Millisecond)
			continue
		}
		fc.Step(time.Second)
		if onStep != nil {
			onStep(fc.Since(begin))
		}
	}
}

func TestLeaseName(t *testing.T) {
	if LeaseName("Cats") != LeaseName("cats") || LeaseName("CATS") != LeaseName("cats") {
		t.Errorf("Cats, CATS and cats have Leases %s, %s, %s: want one", LeaseName("Cats"), LeaseName("CATS"), LeaseName("cats"))
	}
	seen := map[string]string{}
	for _, table := range []string{"cats", "_cats", "cats_", "a_b", strings.Repeat("x", 63), "_", "dogs"} {
		n := LeaseName(table)
		if errs := validation.IsDNS1123Subdomain(n); len(errs) > 0 {
			t.Errorf("LeaseName(%q) = %q: %v", table, n, errs)
		}
		if other, dup := seen[n]; dup {
			t.Errorf("tables %q and %q share Lease %s", other, table, n)
		}
		seen[n] = table
	}
}

func TestTableNamesThatDifferInCaseShareOneLease(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset()
	fc := clocktesting.NewFakeClock(epoch)
	first, err := Acquire(ctx, client, "tb", "Cats", "ana@laptop pid 1 (a)", ttl, withClock(fc), withMachine(nobody))
	must(t, err)
	_, err = tryAcquire(ctx, client, "tb", "cats", "bo@ci pid 2 (b)", ttl, withClock(fc), withMachine(nobody))
	if exitcode.Of(err) != exitcode.Staging || !strings.Contains(err.Error(), "table cats is being pushed as Cats by ana@laptop pid 1 (a)") {
		t.Fatalf("pushing cats while Cats is pushed: %v; want exit 7 naming Cats and its holder", err)
	}
	must(t, first.Release(ctx, &Staged{Files: 3, Bytes: 30, At: epoch}))
	tables, err := StagedTables(ctx, client, "tb")
	must(t, err)
	if _, ok := tables["Cats"]; !ok || len(tables) != 1 {
		t.Errorf("staged tables = %v, want Cats under its own spelling", tables)
	}
}

func TestAcquireRefusesALiveHolder(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset()
	fc := clocktesting.NewFakeClock(epoch)
	first, err := Acquire(ctx, client, "tb", "cats", "ana@laptop pid 1 (a)", ttl, withClock(fc), withMachine(nobody))
	must(t, err)
	defer func() { must(t, first.Release(ctx, nil)) }()
	_, err = tryAcquire(ctx, client, "tb", "cats", "bo@ci pid 2 (b)", ttl, withClock(fc), withMachine(nobody))
	if exitcode.Of(err) != exitcode.Staging || !strings.Contains(err.Error(), "being pushed by ana@laptop pid 1 (a)") {
		t.Fatalf("second push: %v, want exit 7 naming the holder", err)
	}
	// Another table is independent.
	other, err := tryAcquire(ctx, client, "tb", "dogs", "bo@ci pid 2 (b)", ttl, withClock(fc), withMachine(nobody))
	must(t, err)
	must(t, other.Release(ctx, nil))
}

// TestExpiryIgnoresTheHoldersClock plays a holder whose clock is hours off
// ours: its renew times say nothing to us, only whether they change does.
func TestExpiryIgnoresTheHoldersClock(t *testing.T) {
	tests := []struct {
		name     string
		skew     time.Duration // the holder's clock minus ours
		renewing bool
		wantErr  bool
	}{
		{name: "dead holder, clock hours ahead", skew: 5 * time.Hour},
		{name: "dead holder, clock hours behind", skew: -5 * time.Hour},
		{name: "dead holder, same clock", skew: 0},
		{name: "live holder, clock hours behind", skew: -5 * time.Hour, renewing: true, wantErr: true},
		{name: "live holder, clock hours ahead", skew: 5 * time.Hour, renewing: true, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			client := fake.NewClientset()
			fc := clocktesting.NewFakeClock(epoch)
			const other = "ana@laptop pid 1 (a)"
			putHolder(t, client, "cats", other, "", fc.Now().Add(tt.skew))
			var w warnings
			r, waited := drive(t, fc, func() (*Held, error) {
				return Acquire(ctx, client, "tb", "cats", "bo@ci pid 2 (b)", ttl, withClock(fc), WithWarnings(w.warnf), withMachine(nobody))
			}, func(elapsed time.Duration) {
				if tt.renewing && elapsed%(10*time.Second) == 0 {
					putHolder(t, client, "cats", other, "", fc.Now().Add(tt.skew))
				}
			})
			if tt.wantErr {
				if exitcode.Of(r.err) != exitcode.Staging || !strings.Contains(r.err.Error(), other) {
					t.Fatalf("a live holder's Lease: %v, want exit 7 naming it", r.err)
				}
				if waited > 11*time.Second {
					t.Errorf("refused after %s: the holder renewed within 10s", waited)
				}
				if got := ptr.Deref(getLease(t, client, "cats").Spec.HolderIdentity, ""); got != other {
					t.Errorf("holder = %q, want the live holder kept", got)
				}
				return
			}
			must(t, r.err)
			defer func() { must(t, r.held.Release(ctx, nil)) }()
			if waited < ttl || waited > ttl+2*time.Second {
				t.Errorf("took over after %s on our clock, want %s", waited, ttl)
			}
			l := getLease(t, client, "cats")
			if got := ptr.Deref(l.Spec.HolderIdentity, ""); got != "bo@ci pid 2 (b)" || ptr.Deref(l.Spec.LeaseTransitions, 0) != 1 {
				t.Errorf("after takeover holder = %q, transitions %d", got, ptr.Deref(l.Spec.LeaseTransitions, 0))
			}
			for _, want := range []string{"waiting up to 30s", "took over Lease " + LeaseName("cats") + " of table cats from " + other + ": nobody renewed it for 30s"} {
				if !strings.Contains(w.String(), want) {
					t.Errorf("warnings %q lack %q", w.String(), want)
				}
			}
		})
	}
}

func TestObserver(t *testing.T) {
	fc := clocktesting.NewFakeClock(epoch)
	o := NewObserver(fc)
	l := &coordv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "l", Namespace: "tb"}, Spec: coordv1.LeaseSpec{
		HolderIdentity: ptr.To("ana"), LeaseDurationSeconds: ptr.To(int32(30)),
		RenewTime: ptr.To(metav1.NewMicroTime(epoch.Add(-10 * time.Hour)))}}
	steps := []struct {
		advance time.Duration
		renew   bool
		want    bool
	}{
		{0, false, false}, // first seen: not known to be expired, however old its renew time
		{29 * time.Second, false, false},
		{time.Second, false, true},
		{0, true, false}, // renewed: the count starts again
		{29 * time.Second, false, false},
		{time.Second, false, true},
	}
	for i, s := range steps {
		fc.Step(s.advance)
		if s.renew {
			l.Spec.RenewTime = ptr.To(metav1.NewMicroTime(l.Spec.RenewTime.Add(time.Second)))
		}
		if got := o.Expired(l, ttl); got != s.want {
			t.Errorf("step %d: Expired = %v, want %v", i, got, s.want)
		}
	}
	if !o.Expired(&coordv1.Lease{}, ttl) {
		t.Error("a free Lease is available")
	}
}

// failingUpdates makes Lease updates fail while on is set.
func failingUpdates(client *fake.Clientset, on *atomic.Bool) {
	client.PrependReactor("update", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
		if on.Load() {
			return true, nil, errors.New("dial tcp 198.18.0.1:6443: connect: connection refused")
		}
		return false, nil, nil
	})
}

// stepUntil steps the fake clock a second at a time, whenever the renewal
// waits on it, until done is closed or limit passed; it returns the time
// passed.
func stepUntil(t *testing.T, fc *clocktesting.FakeClock, done <-chan struct{}, limit time.Duration) time.Duration {
	t.Helper()
	begin := fc.Now()
	// A guard against a hang only: each fake second waits for the
	// renewing goroutine to sleep again, which a loaded machine delays.
	deadline := time.Now().Add(time.Minute)
	for fc.Since(begin) < limit {
		select {
		case <-done:
			return fc.Since(begin)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("stuck after %s on our clock", fc.Since(begin))
		}
		if !fc.HasWaiters() {
			time.Sleep(time.Millisecond)
			continue
		}
		fc.Step(time.Second)
	}
	// Let the renewal that the last step woke finish.
	select {
	case <-done:
	case <-time.After(200 * time.Millisecond):
	}
	return fc.Since(begin)
}

func TestRenewalFailureLosesTheLeaseAfterItsDuration(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset()
	var failing atomic.Bool
	failingUpdates(client, &failing)
	fc := clocktesting.NewFakeClock(epoch)
	var w warnings
	held, err := Acquire(ctx, client, "tb", "cats", "ana@laptop pid 1 (a)", ttl, withClock(fc), WithWarnings(w.warnf), withMachine(nobody))
	must(t, err)
	defer func() { _ = held.Release(ctx, nil) }()
	// Renewals that work keep it.
	stepUntil(t, fc, held.Lost(), 25*time.Second)
	if held.Err() != nil {
		t.Fatalf("lost while renewals work: %v", held.Err())
	}
	failing.Store(true)
	took := stepUntil(t, fc, held.Lost(), 2*ttl)
	select {
	case <-held.Lost():
	default:
		t.Fatalf("Lost not closed %s after renewals began to fail", took)
	}
	if took > ttl {
		t.Errorf("lost %s after renewals began to fail, want at most the duration %s", took, ttl)
	}
	err = held.Err()
	if !errors.Is(err, ErrLost) || exitcode.Of(err) != exitcode.Staging || !strings.Contains(err.Error(), "could not renew") {
		t.Errorf("Err = %v, want exit 7 saying it could not renew", err)
	}
	if !strings.Contains(w.String(), "could not renew the Lease of table cats: dial tcp") {
		t.Errorf("renewal failures were not surfaced: %q", w.String())
	}
	if cerr := held.Check(ctx); !errors.Is(cerr, ErrLost) {
		t.Errorf("Check after loss = %v, want ErrLost", cerr)
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		since   time.Duration // since the last renewal, on our clock
		failing bool
		taken   bool
		want    string // "" for nil
	}{
		{name: "held and renewed", since: 5 * time.Second},
		{name: "renewal fails, recently renewed", since: 5 * time.Second, failing: true},
		{name: "renewal fails, not renewed for most of the duration", since: 20 * time.Second, failing: true, want: "could not renew"},
		{name: "taken over", since: time.Second, taken: true, want: "taken over by bo@ci pid 2 (b)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			client := fake.NewClientset()
			var failing atomic.Bool
			failingUpdates(client, &failing)
			fc := clocktesting.NewFakeClock(epoch)
			held, err := Acquire(ctx, client, "tb", "cats", "ana@laptop pid 1 (a)", ttl, withClock(fc), withMachine(nobody))
			must(t, err)
			defer func() { _ = held.Release(ctx, nil) }()
			// Stop the background renewal to control when renewals happen.
			held.stopRenewing()
			fc.Step(tt.since)
			failing.Store(tt.failing)
			if tt.taken {
				putHolder(t, client, "cats", "bo@ci pid 2 (b)", "", fc.Now())
			}
			err = held.Check(ctx)
			if tt.want == "" {
				must(t, err)
				if held.Err() != nil {
					t.Errorf("Err = %v after a Check that passed", held.Err())
				}
				return
			}
			if !errors.Is(err, ErrLost) || exitcode.Of(err) != exitcode.Staging || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Check = %v, want exit 7 with %q", err, tt.want)
			}
			select {
			case <-held.Lost():
			default:
				t.Error("Lost not closed after a failed Check")
			}
		})
	}
}

func TestTakeoverByAnotherHolderIsNoticed(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset()
	fc := clocktesting.NewFakeClock(epoch)
	held, err := Acquire(ctx, client, "tb", "cats", "ana@laptop pid 1 (a)", ttl, withClock(fc), withMachine(nobody))
	must(t, err)
	work, cancel := held.Context(ctx)
	defer cancel()
	putHolder(t, client, "cats", "bo@ci pid 2 (b)", "", fc.Now())
	stepUntil(t, fc, held.Lost(), ttl)
	select {
	case <-held.Lost():
	default:
		t.Fatal("Lost not closed after another holder took the Lease")
	}
	select {
	case <-work.Done():
	case <-time.After(time.Second):
		t.Fatal("the push's context was not cancelled")
	}
	if cause := context.Cause(work); !errors.Is(cause, ErrLost) || !strings.Contains(cause.Error(), "taken over by bo@ci pid 2 (b)") {
		t.Errorf("cause = %v, want the takeover", cause)
	}
	if err := held.Check(ctx); exitcode.Of(err) != exitcode.Staging || !errors.Is(err, ErrLost) {
		t.Errorf("Check = %v, want exit 7", err)
	}
	// Release leaves the other holder's Lease alone.
	must(t, held.Release(ctx, &Staged{Files: 1, At: epoch}))
	l := getLease(t, client, "cats")
	if got := ptr.Deref(l.Spec.HolderIdentity, ""); got != "bo@ci pid 2 (b)" {
		t.Errorf("after Release the holder is %q, want the new holder", got)
	}
	if _, ok := Record(l); ok {
		t.Error("a push that lost the Lease wrote its record")
	}
}

func TestLocalHolderWhoseProcessEnded(t *testing.T) {
	const me = "ana@laptop"
	procs := map[int]string{100: "5000", 300: "7000"} // running PIDs and their start times
	host := machine{who: me, id: "boot1:ns1", pid: 200, start: func(pid int) (string, bool) {
		s, ok := procs[pid]
		return s, ok
	}}
	tests := []struct {
		name     string
		holder   string
		process  string
		takeOver string // the reason said, "" when refused
	}{
		{name: "process gone", holder: me + " pid 101 (x)", process: "101/4000/boot1:ns1", takeOver: "process 101 on this machine has ended"},
		{name: "PID reused by another process", holder: me + " pid 100 (x)", process: "100/4000/boot1:ns1", takeOver: "the PID now belongs to another process"},
		{name: "PID is this process now", holder: me + " pid 200 (x)", process: "200/4000/boot1:ns1", takeOver: "that PID is this push now"},
		{name: "live process", holder: me + " pid 100 (x)", process: "100/5000/boot1:ns1"},
		{name: "live process, start unknown", holder: me + " pid 300 (x)", process: "300//boot1:ns1"},
		{name: "another machine of the same name", holder: me + " pid 101 (x)", process: "101/4000/boot2:ns1"},
		{name: "another PID namespace", holder: me + " pid 101 (x)", process: "101/4000/boot1:ns2"},
		{name: "another user", holder: "bo@laptop pid 101 (x)", process: "101/4000/boot1:ns1"},
		{name: "no process stamp", holder: me + " pid 101 (x)", process: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			client := fake.NewClientset()
			fc := clocktesting.NewFakeClock(epoch)
			putHolder(t, client, "cats", tt.holder, tt.process, fc.Now())
			var w warnings
			held, err := tryAcquire(ctx, client, "tb", "cats", me+" pid 200 (y)", ttl, withClock(fc), WithWarnings(w.warnf), withMachine(host))
			if tt.takeOver == "" {
				if exitcode.Of(err) != exitcode.Staging {
					t.Fatalf("tryAcquire = %v, want exit 7: the holder may be alive", err)
				}
				return
			}
			must(t, err)
			defer func() { must(t, held.Release(ctx, nil)) }()
			if !strings.Contains(w.String(), "took over Lease") || !strings.Contains(w.String(), tt.takeOver) {
				t.Errorf("warnings %q, want the takeover and %q", w.String(), tt.takeOver)
			}
			if got := getLease(t, client, "cats").Annotations[AnnotationHolderProcess]; got != host.stamp() {
				t.Errorf("process stamp = %q, want %q", got, host.stamp())
			}
		})
	}
}

func TestLocalMachineSeesItsOwnProcess(t *testing.T) {
	m := localMachine()
	m.who = "ana@laptop"
	if m.id == "" {
		t.Skip("this system does not name its boot and PID namespace; local holders are never judged here")
	}
	alive := leaseView{holder: fmt.Sprintf("ana@laptop pid %d (x)", m.pid), process: m.stamp()}
	other := machine{who: m.who, id: m.id, pid: m.pid + 1, start: m.start}
	if gone, why := other.holderGone(alive); gone {
		t.Errorf("a running process is judged gone: %s", why)
	}
}

func TestParsing(t *testing.T) {
	who, pid, ok := parseHolder(Holder("ana", "lap top", 42, "n0nce"))
	if !ok || who != "ana@lap top" || pid != 42 {
		t.Errorf("parseHolder = %q %d %v", who, pid, ok)
	}
	if _, _, ok := parseHolder("cleanup"); ok {
		t.Error("parseHolder accepted a holder without a PID")
	}
	const stat = "42 (a) b) c) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10"
	start, running, ok := statStart(stat)
	if !ok || !running || start != "987654" {
		t.Errorf("statStart = %q %v %v, want 987654, running", start, running, ok)
	}
	if _, running, _ := statStart(strings.Replace(stat, ") S ", ") Z ", 1)); running {
		t.Error("a zombie counts as running: a push killed by SIGKILL is one until its shell reaps it")
	}
}

func TestReleaseKeepsTheRecordOfAStagedTable(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset()
	fc := clocktesting.NewFakeClock(epoch)
	opts := []Option{withClock(fc), withMachine(nobody)}
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	l, err := Acquire(ctx, client, "tb", "cats", "ana@laptop pid 1 (a)", ttl, opts...)
	must(t, err)
	must(t, l.Release(ctx, &Staged{Files: 1601, Bytes: 149190415, At: at, Task: "object_detection"}))
	tables, err := StagedTables(ctx, client, "tb")
	must(t, err)
	if got := tables["cats"]; len(tables) != 1 || got.Files != 1601 || got.Bytes != 149190415 || !got.At.Equal(at) || got.Task != "object_detection" {
		t.Fatalf("staged tables = %+v, want the record of cats", tables)
	}
	// The record is free: the next push takes it at once, and a failed
	// push leaves the record of the copy that is still staged.
	again, err := tryAcquire(ctx, client, "tb", "cats", "bo@ci pid 2 (b)", ttl, opts...)
	if err != nil {
		t.Fatalf("a released Lease blocks the next push: %v", err)
	}
	must(t, again.Release(ctx, nil))
	lease := getLease(t, client, "cats")
	if rec, ok := Record(lease); !ok || rec.Files != 1601 || !IsFree(lease) || lease.Annotations[AnnotationHolderProcess] != "" {
		t.Fatalf("after a failed push the Lease is %+v, want the old record, free", lease)
	}
}

func TestExpiredByTheHoldersClock(t *testing.T) {
	now := epoch
	l := func(renew time.Time) *coordv1.Lease {
		return &coordv1.Lease{Spec: coordv1.LeaseSpec{HolderIdentity: ptr.To("ana"), RenewTime: ptr.To(metav1.NewMicroTime(renew)), LeaseDurationSeconds: ptr.To(int32(30))}}
	}
	if Expired(l(now.Add(-10*time.Second)), now) || !Expired(l(now.Add(-31*time.Second)), now) || !Expired(&coordv1.Lease{}, now) {
		t.Error("Expired misreads the renew time")
	}
}

// Fresh tells a table's first Lease from one a push has held before.
func TestFresh(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset()
	fc := clocktesting.NewFakeClock(epoch)
	first, err := Acquire(ctx, client, "tb", "cats", "ana@laptop pid 1 (a)", ttl, withClock(fc), withMachine(nobody))
	must(t, err)
	if !first.Fresh() {
		t.Error("the first Lease of a table is not fresh")
	}
	// A push that staged keeps the Lease, with its record.
	must(t, first.Release(ctx, &Staged{Files: 3, Bytes: 10, At: epoch, Task: "image_classification"}))
	again, err := Acquire(ctx, client, "tb", "cats", "ana@laptop pid 2 (b)", ttl, withClock(fc), withMachine(nobody))
	must(t, err)
	defer func() { must(t, again.Release(ctx, nil)) }()
	if again.Fresh() {
		t.Error("a Lease taken after another push is fresh")
	}
}

// tryAcquire is Acquire without waiting: a Lease held by another client that
// is not known to have expired is refused at once (exit 7).
func tryAcquire(ctx context.Context, client kubernetes.Interface, namespace, table, holder string, ttl time.Duration, opts ...Option) (*Held, error) {
	return acquire(ctx, client, namespace, table, holder, ttl, false, opts)
}
