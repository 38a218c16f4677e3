package stagepod

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
)

// Explain says in plain words why pod is not running, from its conditions,
// container states and the newest warning events.
func Explain(ctx context.Context, client kubernetes.Interface, pod *corev1.Pod) string {
	if pod == nil {
		return "the pod never appeared in a watch; check the apiserver"
	}
	var why []string
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			why = append(why, fmt.Sprintf("not scheduled: %s", c.Message))
		}
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil && w.Reason != "" {
			why = append(why, fmt.Sprintf("container waiting: %s %s", w.Reason, w.Message))
		}
	}
	sel := fields.Set{"involvedObject.name": pod.Name, "type": corev1.EventTypeWarning}.AsSelector().String()
	if evs, err := client.CoreV1().Events(pod.Namespace).List(ctx, metav1.ListOptions{FieldSelector: sel}); err == nil {
		items := evs.Items
		sort.Slice(items, func(i, j int) bool { return items[i].LastTimestamp.Before(&items[j].LastTimestamp) })
		if len(items) > 3 {
			items = items[len(items)-3:]
		}
		for _, e := range items {
			why = append(why, fmt.Sprintf("%s: %s%s", e.Reason, e.Message, hint(e.Reason, e.Message)))
		}
	}
	if len(why) == 0 {
		return fmt.Sprintf("it is %s with no reason given; see kubectl describe pod %s -n %s", pod.Status.Phase, pod.Name, pod.Namespace)
	}
	return strings.Join(why, "; ")
}

func hint(reason, msg string) string {
	switch {
	case reason == "FailedAttachVolume" && strings.Contains(msg, "Multi-Attach"):
		return " (client-pvc is ReadWriteOnce and mounted on another node)"
	case reason == "FailedMount":
		return " (the node cannot mount client-pvc)"
	}
	return ""
}
