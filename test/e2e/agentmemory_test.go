//go:build e2e

package e2e

import (
	"github.com/tracebloc/kubectl-tracebloc/test/harness"

	"path/filepath"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
)

// agentBytesPerFile is what the stage agent may take per file of a push
// of 20 000 files beyond what it takes for two. A million files must fit
// in 512 MiB, half the stage Pod's 1Gi (issue 23): 512 bytes a file live,
// and at this size the collector's headroom doubles what is live (at a
// million files the agent's soft memory limit holds the heap near 384
// MiB instead). Maps of hex strings took 1.1 KB a file at a million.
const agentBytesPerFile = 1024

// TestAgentMemoryPerFile: the agent reports its peak memory, and a push of
// 20 000 files costs it at most agentBytesPerFile a file more than a push
// of two, on the real stage Pod; the staged copy is exact.
func TestAgentMemoryPerFile(t *testing.T) {
	const table, n = "e2e_agent_memory", 20000
	removeStaged(t, table)
	one := filepath.Join(t.TempDir(), "one")
	many := filepath.Join(t.TempDir(), "many")
	if err := fixture.WriteText(one, fixture.TextOptions{Task: "text_classification", Files: 2}); err != nil {
		t.Fatal(err)
	}
	if err := fixture.WriteText(many, fixture.TextOptions{Task: "text_classification", Files: n}); err != nil {
		t.Fatal(err)
	}
	env := []string{"TRACEBLOC_CACHE_DIR=" + t.TempDir()}
	base := harness.PushMeasured(t, plugin, env, one, table)
	removeStaged(t, table)
	got := harness.PushMeasured(t, plugin, env, many, table)
	t.Logf("agent peak: %.1f MiB for 2 files, %.1f MiB for %d files (%.0f bytes a file)", float64(base.AgentPeak)/(1<<20),
		float64(got.AgentPeak)/(1<<20), n, float64(got.AgentPeak-base.AgentPeak)/n)
	if base.AgentPeak <= 0 || got.AgentPeak <= 0 {
		t.Fatalf("the agent reported no peak memory (%d, %d)", base.AgentPeak, got.AgentPeak)
	}
	if per := (got.AgentPeak - base.AgentPeak) / n; per > agentBytesPerFile {
		t.Errorf("the agent took %d bytes a file, bound %d: a million files would not fit its budget", per, agentBytesPerFile)
	}
	want, wn := harness.LocalDigest(t, many, harness.TextRels(t, many))
	if sum, gn := harness.StagedDigest(t, kubectlBin, kubeconfig, table); sum != want || gn != wn {
		t.Errorf("the staged copy differs: %d files %s staged, %d files %s local", gn, sum, wn, want)
	}
}
