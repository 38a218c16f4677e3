//go:build linux

package agent

import (
	"fmt"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
)

// BenchmarkSealedKeep is the agent's part of an unchanged re-push of
// 100 000 staged files: the inventory confirms the sealed copy by a stat
// walk, the plan keeps it naming no file, and the copy is walked again at
// the swap (about 0.5 s each for 100 000 files here).
func BenchmarkSealedKeep(b *testing.B) {
	const n = 100_000
	files := make(map[string]string, n+1)
	files["labels.csv"] = "file,label\n"
	for i := range n {
		files[fmt.Sprintf("texts/t_%06d.txt", i)] = fmt.Sprintf("text %d", i)
	}
	vol := b.TempDir()
	msgs, code := runAgent(b, vol, stream(b, files, nil), proto.CmdStage, "--table", "cats", "--nonce", "n1")
	if code != 0 || last(msgs).Seal == "" {
		b.Fatalf("first push: exit %d, %+v", code, last(msgs))
	}
	seal := last(msgs).Seal
	in := planStream(b, sealedPlan(seal, n+1), nil)
	b.ResetTimer()
	for i := range b.N {
		msgs, code := runAgent(b, vol, in, proto.CmdStage, "--table", "cats", "--nonce", fmt.Sprint("k", i),
			"--sealed", seal, "--sealed-files", fmt.Sprint(n+1))
		if code != 0 || !last(msgs).Kept {
			b.Fatalf("exit %d: %+v", code, last(msgs))
		}
	}
}
