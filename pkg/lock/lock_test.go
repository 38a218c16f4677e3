package lock

import (
	"context"
	"strings"
	"testing"
	"time"

	coordv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

func TestLeaseName(t *testing.T) {
	seen := map[string]string{}
	for _, table := range []string{"cats", "Cats", "_cats", "cats_", "a_b", strings.Repeat("x", 63), "_"} {
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

func TestAcquireRefusesALiveHolderAndTakesOverAnExpiredOne(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset()
	first, err := Acquire(ctx, client, "tb", "cats", "ana@laptop pid 1 (a)", 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(ctx, client, "tb", "cats", "bo@ci pid 2 (b)", 30*time.Second)
	if err == nil || exitcode.Of(err) != exitcode.Staging || !strings.Contains(err.Error(), "being pushed by ana@laptop pid 1 (a)") {
		t.Fatalf("second push: %v, want exit 7 naming the holder", err)
	}
	// Another table is independent.
	other, err := Acquire(ctx, client, "tb", "dogs", "bo@ci pid 2 (b)", 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	must(t, other.Release(ctx, nil))
	// The first client dies: its Lease is left and expires.
	close(first.stop)
	first.wg.Wait()
	lease, err := client.CoordinationV1().Leases("tb").Get(ctx, LeaseName("cats"), metav1.GetOptions{})
	must(t, err)
	lease.Spec.RenewTime = ptr.To(metav1.NewMicroTime(time.Now().Add(-time.Minute)))
	_, err = client.CoordinationV1().Leases("tb").Update(ctx, lease, metav1.UpdateOptions{})
	must(t, err)
	taken, err := Acquire(ctx, client, "tb", "cats", "bo@ci pid 2 (b)", 30*time.Second)
	if err != nil {
		t.Fatalf("an expired Lease was not taken over: %v", err)
	}
	must(t, taken.Release(ctx, nil))
	leases, err := client.CoordinationV1().Leases("tb").List(ctx, metav1.ListOptions{})
	must(t, err)
	if len(leases.Items) != 0 {
		t.Errorf("Leases left after release: %d", len(leases.Items))
	}
}

func TestExpired(t *testing.T) {
	now := time.Now()
	l := func(renew time.Time) *coordv1.Lease {
		return &coordv1.Lease{Spec: coordv1.LeaseSpec{HolderIdentity: ptr.To("ana"), RenewTime: ptr.To(metav1.NewMicroTime(renew)), LeaseDurationSeconds: ptr.To(int32(30))}}
	}
	if Expired(l(now.Add(-10*time.Second)), now) {
		t.Error("a Lease renewed 10s ago is live")
	}
	if !Expired(l(now.Add(-31*time.Second)), now) {
		t.Error("a Lease renewed 31s ago has expired")
	}
	if !Expired(&coordv1.Lease{}, now) {
		t.Error("a Lease never renewed has expired")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestReleaseKeepsTheRecordOfAStagedTable(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset()
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	l, err := Acquire(ctx, client, "tb", "cats", "ana@laptop pid 1 (a)", 30*time.Second)
	must(t, err)
	must(t, l.Release(ctx, &Staged{Files: 1601, Bytes: 149190415, At: at}))
	tables, err := StagedTables(ctx, client, "tb")
	must(t, err)
	if got := tables["cats"]; len(tables) != 1 || got.Files != 1601 || got.Bytes != 149190415 || !got.At.Equal(at) {
		t.Fatalf("staged tables = %+v, want the record of cats", tables)
	}
	// The record is free: the next push takes it at once, and a failed
	// push leaves the record of the copy that is still staged.
	again, err := Acquire(ctx, client, "tb", "cats", "bo@ci pid 2 (b)", 30*time.Second)
	if err != nil {
		t.Fatalf("a released Lease blocks the next push: %v", err)
	}
	must(t, again.Release(ctx, nil))
	lease, err := client.CoordinationV1().Leases("tb").Get(ctx, LeaseName("cats"), metav1.GetOptions{})
	must(t, err)
	if rec, ok := Record(lease); !ok || rec.Files != 1601 || !Free(lease) {
		t.Fatalf("after a failed push the Lease is %+v, want the old record, free", lease)
	}
	// A push that dies holding it: Abandon frees it and keeps the record.
	dead, err := Acquire(ctx, client, "tb", "cats", "cy@vm pid 3 (c)", 30*time.Second)
	must(t, err)
	close(dead.stop)
	dead.wg.Wait()
	kept, err := Abandon(ctx, client, "tb", LeaseName("cats"))
	must(t, err)
	lease, err = client.CoordinationV1().Leases("tb").Get(ctx, LeaseName("cats"), metav1.GetOptions{})
	must(t, err)
	if !kept || !Free(lease) {
		t.Fatalf("Abandon kept=%v, Lease %+v: want the record kept, free", kept, lease.Spec)
	}
	// A Lease with no record is deleted by Abandon.
	lone, err := Acquire(ctx, client, "tb", "dogs", "cy@vm pid 3 (c)", 30*time.Second)
	must(t, err)
	close(lone.stop)
	lone.wg.Wait()
	kept, err = Abandon(ctx, client, "tb", LeaseName("dogs"))
	must(t, err)
	if _, gerr := client.CoordinationV1().Leases("tb").Get(ctx, LeaseName("dogs"), metav1.GetOptions{}); kept || gerr == nil {
		t.Fatalf("Abandon of a Lease without a record: kept=%v, get err=%v; want it deleted", kept, gerr)
	}
}
