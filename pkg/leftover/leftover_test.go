package leftover

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	coordv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	"github.com/tracebloc/kubectl-tracebloc/pkg/lock"
	"github.com/tracebloc/kubectl-tracebloc/pkg/stagepod"
)

func lease(table, holder string, renewed time.Time) *coordv1.Lease {
	return &coordv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: lock.LeaseName(table), Namespace: "tb",
			Labels:      map[string]string{stagepod.LabelManagedBy: stagepod.ManagedBy, stagepod.LabelComponent: lock.ComponentLock},
			Annotations: map[string]string{stagepod.AnnotationTable: table}},
		Spec: coordv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: ptr.To(int32(30)), RenewTime: ptr.To(metav1.NewMicroTime(renewed))},
	}
}

func stagePod(name, table, holder string) *corev1.Pod {
	p := stagepod.BuildPod(stagepod.PodOptions{Namespace: "tb", Table: table, Suffix: name, Holder: holder, Now: time.Now()})
	return p
}

func TestFindObjects(t *testing.T) {
	now := time.Now()
	client := fake.NewClientset(
		lease("live", "ana", now.Add(-5*time.Second)),
		lease("dead", "bo", now.Add(-time.Hour)),
		lease("staged", "", now.Add(-time.Hour)), // free: the record of a staged table
		stagePod("a1", "live", "ana"),            // owned by the live push
		stagePod("b2", "live", "old"),            // same table, an earlier push
		stagePod("c3", "dead", "bo"),             // its push died
		stagePod("d4", "nolease", "x"),           // no Lease at all
	)
	items, live, err := FindObjects(context.Background(), client, "tb", now)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, i := range items {
		got = append(got, string(i.Kind)+" "+i.Name)
	}
	want := []string{"Lease " + lock.LeaseName("dead"), "Pod tracebloc-stage-dead-c3", "Pod tracebloc-stage-live-b2", "Pod tracebloc-stage-nolease-d4"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("leftovers (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Owners{"live": "ana"}, live); diff != "" {
		t.Errorf("owners (-want +got):\n%s", diff)
	}
}

func TestFolders(t *testing.T) {
	items := Folders([]string{"cats", ".cats.manifest", ".partial-cats", ".partial-live", ".old-dogs-123", "dogs"}, Owners{"live": "ana"})
	var got []string
	for _, i := range items {
		got = append(got, i.Table+" "+i.Name)
	}
	want := []string{"cats /data/shared/.tracebloc-staging/.partial-cats", "dogs /data/shared/.tracebloc-staging/.old-dogs-123"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("folders (-want +got):\n%s", diff)
	}
}
