//go:build linux && profile

package transfer

import (
	"context"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"testing"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/agenttest"
	"github.com/tracebloc/kubectl-tracebloc/pkg/datafile"
	"github.com/tracebloc/kubectl-tracebloc/pkg/podexec"
)

func TestProfileStage(t *testing.T) {
	root := os.Getenv("PROF_DATA")
	ents, err := os.ReadDir(filepath.Join(root, "texts"))
	if err != nil {
		t.Fatal(err)
	}
	var files []datafile.File
	for _, e := range ents {
		info, _ := e.Info()
		files = append(files, datafile.File{Rel: "texts/" + e.Name(), Size: info.Size(), ModTime: info.ModTime()})
	}
	if info, err := os.Stat(filepath.Join(root, "labels.csv")); err == nil {
		files = append(files, datafile.File{Rel: "labels.csv", Size: info.Size(), ModTime: info.ModTime()})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Rel < files[j].Rel })
	vol := os.Getenv("PROF_VOL")
	os.RemoveAll(vol)
	os.MkdirAll(vol, 0o755)
	f, _ := os.Create(os.Getenv("PROF_OUT"))
	pprof.StartCPUProfile(f)
	defer pprof.StopCPUProfile()
	start := time.Now()
	runner := &agenttest.Runner{Volume: vol}
	a, err := podexec.Deliver(context.Background(), runner)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Sync(context.Background(), Options{Root: root, Files: files, Local: NewLocal(files), Table: "texts", Nonce: "push-1",
		Agent: a, Compress: CompressAuto})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d files: %.1f s", len(files), time.Since(start).Seconds())
}
