//go:build e2e

// Package bench holds the benchmarks of `make bench`: pushes on the local
// real cluster, measured side by side in one run, whose figures go to
// BENCHMARKS.md. The behaviour tests are test/e2e's.
package bench

import (
	"fmt"
	"os"
	"testing"

	"k8s.io/client-go/kubernetes"

	"github.com/tracebloc/kubectl-tracebloc/pkg/spec"
	"github.com/tracebloc/kubectl-tracebloc/test/harness"
)

const (
	ns         = harness.Namespace
	readerPod  = harness.ReaderPod
	stagingDir = spec.StagingRoot
)

// The cluster of the run; TestMain sets them.
var (
	plugin     string
	kubeconfig string
	stageImage string
	kubectlBin string
	client     kubernetes.Interface
)

var (
	slowLink    = harness.SlowLink
	listenRelay = harness.ListenRelay
)

func TestMain(m *testing.M) {
	env, err := harness.Setup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	plugin, kubeconfig, stageImage, kubectlBin, client = env.Plugin, env.Kubeconfig, env.StageImage, env.Kubectl, env.Client
	code := m.Run()
	writeBenchmarks()
	env.Teardown()
	os.Exit(code)
}
