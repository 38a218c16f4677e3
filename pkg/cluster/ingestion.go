package cluster

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// Names the client chart gives the ingestion side.
const (
	// JobsManagerService is the Service in front of the jobs-manager; a
	// release-prefixed name is probed second.
	JobsManagerService = "jobs-manager"
	// JobsManagerPort is the jobs-manager's HTTP port.
	JobsManagerPort = 8080
	// DefaultIngestorSA is the ingestor ServiceAccount when the authz
	// ConfigMap does not name exactly one.
	DefaultIngestorSA = "ingestor"
	authzKey          = "ingestion-authz.yaml"
)

// JobsManager is where a run is submitted: the Service and the Running pod
// behind it that a port-forward reaches.
type JobsManager struct {
	Service string `json:"service"`
	Pod     string `json:"pod"`
	// Port is the pod's container port behind the Service's http port.
	Port int `json:"port"`
}

// AuthzConfigMap is the name of the release's ingestion authz ConfigMap.
func AuthzConfigMap(release string) string { return release + "-ingestion-authz" }

// FindJobsManager finds the jobs-manager Service and a Running, ready pod
// behind it. Neither → exit 8: the run could not be submitted.
func FindJobsManager(ctx context.Context, client kubernetes.Interface, namespace, release string) (*JobsManager, error) {
	var svc *corev1.Service
	tried := []string{JobsManagerService}
	if release != "" {
		tried = append(tried, release+"-"+JobsManagerService)
	}
	for _, name := range tried {
		s, err := client.CoreV1().Services(namespace).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, APIError(err, "get", "services", namespace)
		}
		svc = s
		break
	}
	if svc == nil {
		return nil, exitcode.Errorf(exitcode.Submit,
			"no jobs-manager Service in namespace %q (looked for %s): the client chart creates it; check the release installed cleanly (kubectl get svc -n %s)",
			namespace, strings.Join(tried, ", "), namespace)
	}
	if len(svc.Spec.Selector) == 0 {
		return nil, exitcode.Errorf(exitcode.Submit, "Service %s in namespace %q selects no pods: the run cannot be submitted through it", svc.Name, namespace)
	}
	port := targetPort(svc)
	pods, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(svc.Spec.Selector).String()})
	if err != nil {
		return nil, APIError(err, "list", "pods", namespace)
	}
	sort.Slice(pods.Items, func(i, j int) bool { return pods.Items[i].Name < pods.Items[j].Name })
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning && ready(&p) {
			if port == 0 {
				port = namedPort(&p, svc)
			}
			return &JobsManager{Service: svc.Name, Pod: p.Name, Port: port}, nil
		}
	}
	return nil, exitcode.Errorf(exitcode.Submit,
		"the jobs-manager has no Running pod behind Service %s in namespace %q (%d pods match its selector): check its Deployment (kubectl get deploy,pods -n %s -l %s)",
		svc.Name, namespace, len(pods.Items), namespace, labels.SelectorFromSet(svc.Spec.Selector))
}

func ready(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	// No readiness reported (yet): Running is enough.
	return true
}

// targetPort is the container port behind the Service's "http" port (or its
// only port); 0 when it is named and must be looked up on the pod.
func targetPort(svc *corev1.Service) int {
	var sp *corev1.ServicePort
	for i := range svc.Spec.Ports {
		if svc.Spec.Ports[i].Name == "http" || len(svc.Spec.Ports) == 1 {
			sp = &svc.Spec.Ports[i]
			break
		}
	}
	if sp == nil {
		return JobsManagerPort
	}
	if sp.TargetPort.IntVal != 0 {
		return int(sp.TargetPort.IntVal)
	}
	if sp.TargetPort.StrVal == "" {
		return int(sp.Port)
	}
	return 0
}

func namedPort(p *corev1.Pod, svc *corev1.Service) int {
	for _, sp := range svc.Spec.Ports {
		for _, c := range p.Spec.Containers {
			for _, cp := range c.Ports {
				if sp.TargetPort.StrVal != "" && cp.Name == sp.TargetPort.StrVal {
					return int(cp.ContainerPort)
				}
			}
		}
	}
	return JobsManagerPort
}

// Ingestor is the ServiceAccount a run's token is requested for, and where
// its name came from.
type Ingestor struct {
	ServiceAccount string `json:"service_account"`
	// Source says how it was chosen, for the summary.
	Source string `json:"source"`
	// TablePrefixes the authz policy allows it, when the ConfigMap names them.
	TablePrefixes []string `json:"table_prefixes,omitempty"`
}

type authzPolicy struct {
	Allowed []struct {
		ServiceAccount string   `json:"service_account"`
		Namespace      string   `json:"namespace"`
		TablePrefixes  []string `json:"table_prefixes"`
	} `json:"allowed"`
}

// FindIngestor reads the release's authz ConfigMap and picks the
// ServiceAccount of namespace: exactly one distinct account, else the
// chart's default "ingestor". A missing ConfigMap, or no permission to
// read it, falls back too.
func FindIngestor(ctx context.Context, client kubernetes.Interface, namespace, release string) (*Ingestor, error) {
	name := AuthzConfigMap(release)
	fallback := func(why string) *Ingestor {
		return &Ingestor{ServiceAccount: DefaultIngestorSA, Source: why}
	}
	cm, err := client.CoreV1().ConfigMaps(namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return fallback("default (no ConfigMap " + name + ")"), nil
	case apierrors.IsForbidden(err):
		return fallback("default (ConfigMap " + name + " not readable)"), nil
	case err != nil:
		return nil, APIError(err, "get", "configmaps", namespace)
	}
	raw, ok := cm.Data[authzKey]
	if !ok {
		return fallback(fmt.Sprintf("default (ConfigMap %s has no %s)", name, authzKey)), nil
	}
	var pol authzPolicy
	if err := yaml.Unmarshal([]byte(raw), &pol); err != nil {
		return fallback(fmt.Sprintf("default (ConfigMap %s does not parse)", name)), nil
	}
	seen := map[string][]string{}
	for _, a := range pol.Allowed {
		if a.Namespace == namespace && a.ServiceAccount != "" {
			seen[a.ServiceAccount] = append(seen[a.ServiceAccount], a.TablePrefixes...)
		}
	}
	if len(seen) != 1 {
		return fallback(fmt.Sprintf("default (ConfigMap %s names %d service accounts for namespace %s)", name, len(seen), namespace)), nil
	}
	ing := &Ingestor{Source: "ConfigMap " + name}
	for sa, prefixes := range seen {
		ing.ServiceAccount, ing.TablePrefixes = sa, prefixes
	}
	return ing, nil
}
