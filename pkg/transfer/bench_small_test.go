//go:build linux

package transfer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/agenttest"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset"
	"github.com/tracebloc/kubectl-tracebloc/pkg/podexec"
)

// BenchmarkStageSmallFiles stages 20 000 small text files through the real
// agent in-process: the CPU both sides spend per file, without the cluster.
func BenchmarkStageSmallFiles(b *testing.B) {
	local := b.TempDir()
	if err := os.MkdirAll(filepath.Join(local, "texts"), 0o755); err != nil {
		b.Fatal(err)
	}
	var files []dataset.File
	words := strings.Fields("the review product service price quality delivery customer order support")
	for i := range 20000 {
		var body strings.Builder
		for body.Len() < 200+(i*37)%1800 {
			body.WriteString(words[(i*7+body.Len())%len(words)])
			body.WriteByte(' ')
		}
		rel := fmt.Sprintf("texts/r%06d.txt", i)
		if err := os.WriteFile(filepath.Join(local, rel), []byte(body.String()), 0o644); err != nil {
			b.Fatal(err)
		}
		files = append(files, dataset.File{Rel: rel, Size: int64(body.Len())})
	}
	b.ResetTimer()
	for i := range b.N {
		vol := b.TempDir()
		runner := &agenttest.Runner{Volume: vol}
		a, err := podexec.Deliver(context.Background(), runner)
		if err != nil {
			b.Fatal(err)
		}
		l, err := HashFiles(local, files)
		if err != nil {
			b.Fatal(err)
		}
		_, err = Sync(context.Background(), Options{Root: local, Files: files, Local: l, Table: "texts", Nonce: fmt.Sprint("push-", i),
			Agent: a, Compress: CompressAuto})
		if err != nil {
			b.Fatal(err)
		}
	}
}
