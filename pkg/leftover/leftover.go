// Package leftover finds what pushes that died left behind: stage Pods,
// expired Leases and temporary staging folders. push warns about them,
// status lists them and cleanup removes them; all three ask here, so they
// agree on what a leftover is.
package leftover

import (
	"context"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tracebloc/kubectl-tracebloc/pkg/cluster"
	"github.com/tracebloc/kubectl-tracebloc/pkg/lock"
	"github.com/tracebloc/kubectl-tracebloc/pkg/naming"
	"github.com/tracebloc/kubectl-tracebloc/pkg/spec"
)

// Kind is what a leftover is; -o json prints it as it is spelled.
type Kind string

// The kinds of leftover.
const (
	KindPod    Kind = "Pod"
	KindLease  Kind = "Lease"
	KindFolder Kind = "Folder"
)

// Item is one leftover.
type Item struct {
	Kind       Kind    `json:"kind"`
	Name       string  `json:"name"`
	Table      string  `json:"table,omitempty"`
	AgeSeconds float64 `json:"age_seconds,omitempty"`
	Reason     string  `json:"reason"`
}

// helperMaxAge is how old a helper Pod may be before it counts as left over
// (its own deadline is ten minutes).
const helperMaxAge = 15 * time.Minute

// Owners are the holders of live Leases, by table.
type Owners map[string]string

// FindObjects lists stage Pods and Leases that no live push owns.
func FindObjects(ctx context.Context, client kubernetes.Interface, namespace string, now time.Time) ([]Item, Owners, error) {
	leases, err := client.CoordinationV1().Leases(namespace).List(ctx, metav1.ListOptions{LabelSelector: lock.Selector})
	if err != nil {
		return nil, nil, cluster.APIError(err, "list", "leases", namespace)
	}
	live := Owners{}
	var items []Item
	for i := range leases.Items {
		l := &leases.Items[i]
		table := l.Annotations[naming.AnnotationTable]
		if lock.IsFree(l) {
			// The record of a staged table, not a leftover.
			continue
		}
		if !lock.Expired(l, now) {
			live[table] = *l.Spec.HolderIdentity
			continue
		}
		items = append(items, Item{Kind: KindLease, Name: l.Name, Table: table, AgeSeconds: age(l.CreationTimestamp, now), Reason: "expired: its push stopped renewing it"})
	}
	pods, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: naming.AnyPodSelector})
	if err != nil {
		return nil, nil, cluster.APIError(err, "list", "pods", namespace)
	}
	for _, p := range pods.Items {
		if p.Labels[naming.LabelComponent] == naming.ComponentHelperPod {
			// Helper Pods of a status or cleanup that may still run are
			// left alone; past their deadline they are leftovers.
			if p.DeletionTimestamp == nil && now.Sub(p.CreationTimestamp.Time) < helperMaxAge {
				continue
			}
			items = append(items, Item{Kind: KindPod, Name: p.Name, AgeSeconds: age(p.CreationTimestamp, now), Reason: "helper pod of a status or cleanup that ended without deleting it"})
			continue
		}
		table := p.Annotations[naming.AnnotationTable]
		if holder, ok := live[table]; ok && holder == p.Annotations[naming.AnnotationHolder] {
			continue
		}
		items = append(items, Item{Kind: KindPod, Name: p.Name, Table: table, AgeSeconds: age(p.CreationTimestamp, now), Reason: "no live push owns it"})
	}
	sort.Slice(items, func(i, j int) bool { return string(items[i].Kind)+items[i].Name < string(items[j].Kind)+items[j].Name })
	return items, live, nil
}

func age(t metav1.Time, now time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return now.Sub(t.Time).Round(time.Second).Seconds()
}

// Folders picks, from the names in the staging folder, the temporary folders
// of tables no live push owns.
func Folders(names []string, live Owners) []Item {
	var items []Item
	for _, n := range names {
		var table, reason string
		switch {
		case strings.HasPrefix(n, ".partial-"):
			table, reason = strings.TrimPrefix(n, ".partial-"), "data of an interrupted push (a push of the table would resume from it)"
		case strings.HasPrefix(n, ".old-"):
			rest := strings.TrimPrefix(n, ".old-")
			if i := strings.LastIndex(rest, "-"); i > 0 {
				rest = rest[:i]
			}
			table, reason = rest, "copy set aside by a swap (removed, or put back if its table has no staged copy)"
		default:
			continue
		}
		if _, owned := live[table]; owned {
			continue
		}
		items = append(items, Item{Kind: KindFolder, Name: spec.StagingRoot + "/" + n, Table: table, Reason: reason})
	}
	return items
}
