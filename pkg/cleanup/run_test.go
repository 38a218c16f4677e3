//go:build linux

package cleanup

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tracebloc/kubectl-tracebloc/internal/clustertest"
	"github.com/tracebloc/kubectl-tracebloc/pkg/lock"
	"github.com/tracebloc/kubectl-tracebloc/pkg/naming"
)

var at = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

// options are a cleanup of w, its notes collected in notes.
func options(w *clustertest.World, dryRun bool, notes *[]string) Options {
	o := Options{HelperOptions: w.Helper(), DryRun: dryRun}
	o.Note = func(format string, args ...any) { *notes = append(*notes, fmt.Sprintf(format, args...)) }
	o.Warn = func(format string, args ...any) { *notes = append(*notes, "warning: "+fmt.Sprintf(format, args...)) }
	return o
}

func found(r *Report) []string {
	var out []string
	for _, i := range r.Found {
		out = append(out, string(i.Kind)+" "+i.Name)
	}
	return out
}

// Its own helper Pod is no leftover: a clean namespace reports clean.
func TestRunOnACleanNamespace(t *testing.T) {
	w := clustertest.New(t)
	w.Folder(t, "cats", 3, at)
	var notes []string
	r, err := Run(context.Background(), options(w, false, &notes))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if r.Status != "clean" || r.Removed || len(r.Found) != 0 || r.Found == nil {
		t.Errorf("report %+v, want clean with an empty found list", r)
	}
	if pods := w.Pods(t); len(pods) != 0 {
		t.Errorf("pods left: %v", pods)
	}
}

func TestRunDryRunFindsAndKeeps(t *testing.T) {
	w := clustertest.New(t, clustertest.Lease("birds", "gone", at), clustertest.StagePod("birds", "dead1", "gone", at))
	w.Folder(t, ".partial-birds", 3, at)
	var notes []string
	r, err := Run(context.Background(), options(w, true, &notes))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := []string{"Folder /data/shared/.tracebloc-staging/.partial-birds", "Lease " + lock.LeaseName("birds"), "Pod tracebloc-stage-birds-dead1"}
	got := found(r)
	if r.Status != "found" || r.Removed || !cmp.Equal(sorted(want), sorted(got)) {
		t.Errorf("status %q removed %v found %v, want found %v", r.Status, r.Removed, got, want)
	}
	if !w.Exists(".partial-birds") || len(w.Pods(t)) != 1 {
		t.Error("a dry run removed something")
	}
}

// A push that still renews its Lease owns its Pod and its partial folder:
// cleanup touches neither, and removes the dead push's beside it.
func TestRunKeepsALivePush(t *testing.T) {
	now := time.Now()
	w := clustertest.New(t, clustertest.Lease("cats", "alive", now), clustertest.StagePod("cats", "live1", "alive", now),
		clustertest.Lease("birds", "gone", at), clustertest.StagePod("birds", "dead1", "gone", at))
	w.Folder(t, ".partial-cats", 3, at)
	w.Folder(t, ".partial-birds", 3, at)
	var notes []string
	r, err := Run(context.Background(), options(w, false, &notes))
	if err != nil {
		t.Fatalf("Run: %v\n%q", err, notes)
	}
	for _, i := range r.Found {
		if i.Table == "cats" {
			t.Errorf("the live push's %s %s is listed", i.Kind, i.Name)
		}
	}
	if r.Status != "removed" || !r.Removed {
		t.Errorf("status %q, want removed", r.Status)
	}
	if !w.Exists(".partial-cats") || w.Exists(".partial-birds") {
		t.Errorf("partial folders: cats %v (want kept), birds %v (want removed)", w.Exists(".partial-cats"), w.Exists(".partial-birds"))
	}
	if diff := cmp.Diff([]string{"tracebloc-stage-cats-live1"}, w.Pods(t)); diff != "" {
		t.Errorf("pods (-want +got):\n%s", diff)
	}
	if _, err := w.Client.CoordinationV1().Leases(clustertest.Namespace).Get(context.Background(), lock.LeaseName("cats"), metav1.GetOptions{}); err != nil {
		t.Errorf("the live Lease is gone: %v", err)
	}
}

// A helper Pod another status or cleanup left (no table, no Lease) is
// removed without a Lease.
func TestRunRemovesAStrayHelperPod(t *testing.T) {
	stray := clustertest.StagePod("", "zzzzz", "helper", at)
	stray.Name = "tracebloc-stage-helper-zzzzz"
	stray.Labels[naming.LabelComponent] = naming.ComponentHelperPod
	w := clustertest.New(t, stray)
	var notes []string
	r, err := Run(context.Background(), options(w, false, &notes))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := found(r); !cmp.Equal([]string{"Pod tracebloc-stage-helper-zzzzz"}, got) {
		t.Errorf("found %v, want the stray helper pod", got)
	}
	if pods := w.Pods(t); len(pods) != 0 {
		t.Errorf("pods left: %v", pods)
	}
	if !strings.Contains(strings.Join(notes, "\n"), "removed pod tracebloc-stage-helper-zzzzz") {
		t.Errorf("no note of the removal: %q", notes)
	}
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
