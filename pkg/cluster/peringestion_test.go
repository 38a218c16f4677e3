package cluster

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// TestPerIngestionTables: the switch is read from container api's env as
// the ingestor reads it.
func TestPerIngestionTables(t *testing.T) {
	env := func(v string) []corev1.EnvVar {
		return []corev1.EnvVar{{Name: "RELEASE", Value: "tb"}, {Name: "PER_INGESTION_TABLES", Value: v}}
	}
	tests := []struct {
		name       string
		containers []corev1.Container
		want       bool
	}{
		{"no containers", nil, false},
		{"no env", []corev1.Container{{Name: "api"}}, false},
		{"1", []corev1.Container{{Name: "api", Env: env("1")}}, true},
		{"TRUE", []corev1.Container{{Name: "api", Env: env("TRUE")}}, true},
		{"Yes", []corev1.Container{{Name: "api", Env: env("Yes")}}, true},
		{"on with spaces", []corev1.Container{{Name: "api", Env: env(" on ")}}, true},
		{"0", []corev1.Container{{Name: "api", Env: env("0")}}, false},
		{"false", []corev1.Container{{Name: "api", Env: env("false")}}, false},
		{"empty", []corev1.Container{{Name: "api", Env: env("")}}, false},
		{"api is not first", []corev1.Container{{Name: "sidecar"}, {Name: "api", Env: env("1")}}, true},
		{"only the api container counts", []corev1.Container{{Name: "sidecar", Env: env("1")}, {Name: "api"}}, false},
		{"no api: the first", []corev1.Container{{Name: "main", Env: env("1")}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := deployment("tb", "tb-jobs-manager", "tb", nil)
			d.Spec.Template.Spec.Containers = tt.containers
			rel, err := FindRelease(context.Background(), fake.NewClientset(d), "tb")
			if err != nil {
				t.Fatal(err)
			}
			if rel.PerIngestionTables != tt.want {
				t.Errorf("per-ingestion tables %v, want %v", rel.PerIngestionTables, tt.want)
			}
		})
	}
}
