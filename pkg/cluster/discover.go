// Package cluster finds the tracebloc client release and its shared volume in a
// namespace, through kubernetes.Interface only.
package cluster

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// Names fixed by the client chart.
const (
	PVCName          = "client-pvc"
	ReleaseSelector  = "app.kubernetes.io/name=client,app.kubernetes.io/managed-by=Helm"
	jobsManager      = "jobs-manager"
	instanceLabel    = "app.kubernetes.io/instance"
	chartLabel       = "helm.sh/chart"
	appVersionLabel  = "app.kubernetes.io/version"
	chartLabelPrefix = "client-"
)

// Release is the parent Helm release of the tracebloc client.
type Release struct {
	Name         string `json:"name"`
	ChartVersion string `json:"chart_version"`
	AppVersion   string `json:"app_version,omitempty"`
	Deployment   string `json:"deployment"`
	// PerIngestionTables: the jobs-manager runs with PER_INGESTION_TABLES
	// on, so each run writes a new table ds_<hex> (chart value
	// perIngestionTables).
	PerIngestionTables bool `json:"per_ingestion_tables"`
}

// Volume is the shared PVC.
type Volume struct {
	Name         string   `json:"name"`
	AccessModes  []string `json:"access_modes"`
	Capacity     string   `json:"capacity,omitempty"`
	StorageClass string   `json:"storage_class,omitempty"`
}

// ReadWriteOnce reports whether only one node can mount the volume at a time.
func (v Volume) ReadWriteOnce() bool {
	for _, m := range v.AccessModes {
		if m == string(corev1.ReadWriteMany) {
			return false
		}
	}
	return true
}

// Target is where a push goes.
type Target struct {
	Namespace string
	Release   Release
	Volume    Volume
}

// Discover finds the release and the Bound client-pvc in namespace.
func Discover(ctx context.Context, client kubernetes.Interface, namespace string) (*Target, error) {
	rel, err := FindRelease(ctx, client, namespace)
	if err != nil {
		return nil, err
	}
	vol, err := FindVolume(ctx, client, namespace)
	if err != nil {
		return nil, err
	}
	return &Target{Namespace: namespace, Release: *rel, Volume: *vol}, nil
}

// FindRelease finds the one jobs-manager Deployment of the client chart.
func FindRelease(ctx context.Context, client kubernetes.Interface, namespace string) (*Release, error) {
	list, err := client.AppsV1().Deployments(namespace).List(ctx, metav1.ListOptions{LabelSelector: ReleaseSelector})
	if err != nil {
		return nil, APIError(err, "list", "deployments", namespace)
	}
	var found []Release
	for _, d := range list.Items {
		if d.Name != jobsManager && !strings.HasSuffix(d.Name, "-"+jobsManager) {
			continue
		}
		found = append(found, Release{
			Name:               d.Labels[instanceLabel],
			ChartVersion:       strings.TrimPrefix(d.Labels[chartLabel], chartLabelPrefix),
			AppVersion:         d.Labels[appVersionLabel],
			Deployment:         d.Name,
			PerIngestionTables: perIngestionTables(d.Spec.Template.Spec.Containers),
		})
	}
	switch len(found) {
	case 0:
		return nil, exitcode.Errorf(exitcode.Cluster,
			"no tracebloc client release in namespace %q (no jobs-manager Deployment labelled %s): pass -n with the namespace where the client chart is installed, or install the chart there", namespace, ReleaseSelector)
	case 1:
		return &found[0], nil
	default:
		sort.Slice(found, func(i, j int) bool { return found[i].Deployment < found[j].Deployment })
		names := make([]string, len(found))
		for i, r := range found {
			names[i] = fmt.Sprintf("%s (Deployment %s)", r.Name, r.Deployment)
		}
		return nil, exitcode.Errorf(exitcode.Cluster,
			"%d tracebloc client releases in namespace %q: %s: the plugin cannot tell which one owns client-pvc; keep one release per namespace", len(found), namespace, strings.Join(names, ", "))
	}
}

// FindVolume checks that client-pvc exists and is Bound.
func FindVolume(ctx context.Context, client kubernetes.Interface, namespace string) (*Volume, error) {
	pvc, err := client.CoreV1().PersistentVolumeClaims(namespace).Get(ctx, PVCName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, exitcode.Errorf(exitcode.Cluster,
			"PersistentVolumeClaim %s not found in namespace %q: the client chart creates it; check the release installed cleanly (kubectl get pvc -n %s)", PVCName, namespace, namespace)
	}
	if err != nil {
		return nil, APIError(err, "get", "persistentvolumeclaims", namespace)
	}
	if pvc.Status.Phase != corev1.ClaimBound {
		phase := pvc.Status.Phase
		if phase == "" {
			phase = "(no phase)"
		}
		return nil, exitcode.Errorf(exitcode.Cluster,
			"PersistentVolumeClaim %s in namespace %q is %s, not Bound: no volume backs it yet; check its events (kubectl describe pvc %s -n %s)", PVCName, namespace, phase, PVCName, namespace)
	}
	v := &Volume{Name: pvc.Name}
	modes := pvc.Status.AccessModes
	if len(modes) == 0 {
		modes = pvc.Spec.AccessModes
	}
	for _, m := range modes {
		v.AccessModes = append(v.AccessModes, string(m))
	}
	if q, ok := pvc.Status.Capacity[corev1.ResourceStorage]; ok {
		v.Capacity = q.String()
	}
	if pvc.Spec.StorageClassName != nil {
		v.StorageClass = *pvc.Spec.StorageClassName
	}
	return v, nil
}

// PerIngestionTablesEnv is the jobs-manager's switch the chart renders from
// perIngestionTables and forwards into each ingestion run.
const PerIngestionTablesEnv = "PER_INGESTION_TABLES"

// perIngestionTables reads the switch from the env of the jobs-manager's
// container api (the first container when none has that name), as the
// ingestor reads it: on for 1, true, yes or on, in any case.
func perIngestionTables(containers []corev1.Container) bool {
	if len(containers) == 0 {
		return false
	}
	c := containers[0]
	for _, cc := range containers {
		if cc.Name == "api" {
			c = cc
			break
		}
	}
	for _, e := range c.Env {
		if e.Name == PerIngestionTablesEnv {
			switch strings.ToLower(strings.TrimSpace(e.Value)) {
			case "1", "true", "yes", "on":
				return true
			}
			return false
		}
	}
	return false
}
