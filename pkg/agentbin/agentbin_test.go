package agentbin

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/internal/agentsrc"
)

// The committed binaries must come from the agent's source as it is now: a
// change to pkg/agent or its protocol without `make agents` would ship a
// plugin whose agent does not speak its protocol.
func TestEmbeddedAgentsMatchSource(t *testing.T) {
	raw, err := files.ReadFile("bin/" + agentsrc.StampFile)
	if err != nil {
		t.Fatalf("reading the stamp: %v (run make agents and commit pkg/agentbin/bin)", err)
	}
	stamp, err := agentsrc.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	source, err := agentsrc.Compute("../..")
	if err != nil {
		t.Fatal(err)
	}
	if source != stamp.Source {
		t.Errorf("the stage agent's source changed since pkg/agentbin/bin was built (stamp %s, source now %s): run make agents and commit pkg/agentbin/bin", stamp.Source, source)
	}
	for _, arch := range agentsrc.Archs {
		name := agentsrc.FileName(arch)
		gz, err := files.ReadFile("bin/" + name)
		if err != nil {
			t.Errorf("%s is not embedded: run make agents", name)
			continue
		}
		sum := sha256.Sum256(gz)
		if got := hex.EncodeToString(sum[:]); got != stamp.Files[name] {
			t.Errorf("%s has SHA-256 %s, the stamp says %s: run make agents and commit pkg/agentbin/bin", name, got, stamp.Files[name])
		}
	}
}

// Every architecture the plugin serves is embedded and unpacks to a Linux
// program whose hash is the one delivery announces.
func TestForEveryArch(t *testing.T) {
	if got, want := Archs(), agentsrc.Archs; !slices.Equal(got, want) {
		t.Fatalf("Archs() = %v, want %v", got, want)
	}
	for _, arch := range agentsrc.Archs {
		a, err := For(arch)
		if err != nil {
			t.Fatal(err)
		}
		prog, err := a.Program()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(prog, []byte("\x7fELF")) {
			t.Errorf("%s: the program is not an ELF binary", arch)
		}
		sum := sha256.Sum256(prog)
		if hex.EncodeToString(sum[:]) != a.Sum || int64(len(prog)) != a.Size {
			t.Errorf("%s: Sum/Size do not describe the program", arch)
		}
	}
	if _, err := For("riscv64"); err == nil {
		t.Error("For(riscv64) found an agent that is not embedded")
	}
}
