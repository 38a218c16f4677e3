package transfer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/internal/heaptest"
	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
	"github.com/tracebloc/kubectl-tracebloc/pkg/podexec"
)

// inventoryRunner stands in for the stage Pod: it prints an inventory of
// n staged files as the agent does, one line, in pieces of 32 KiB.
type inventoryRunner struct{ n int }

func (r inventoryRunner) Run(_ context.Context, _ []string, _ io.Reader, stdout, _ io.Writer) error {
	var line bytes.Buffer
	line.WriteString(`{"t":"inventory","space":{"free_bytes":1,"free_inodes":1,"block_size":4096},"staged":{`)
	for i := range r.n {
		if i > 0 {
			line.WriteByte(',')
		}
		sum := sha256.Sum256(fmt.Appendf(nil, "%d", i))
		fmt.Fprintf(&line, `"texts/r%07d.txt":"%s"`, i, hex.EncodeToString(sum[:]))
	}
	line.WriteString("},\"partial\":{}}\n")
	b := line.Bytes()
	for len(b) > 0 {
		k := min(len(b), 32<<10)
		if _, err := stdout.Write(b[:k]); err != nil {
			return err
		}
		b = b[k:]
	}
	return nil
}

// inventoryPeak is the heap's peak above where it started while the
// plugin reads an inventory of n files into its tables, as a push does.
func inventoryPeak(t *testing.T, n int) int64 {
	t.Helper()
	staged := &sumTable{}
	got := false
	var err error
	peak := heaptest.PeakAbove(heaptest.HeapObjects, func() {
		a := &podexec.RemoteAgent{Runner: inventoryRunner{n: n}, Path: "agent"}
		err = a.RunSums(context.Background(), nil, nil, func(m proto.Message) {
			got = got || m.T == proto.MsgInventory
			// The plan is made here: the table is sorted and read.
			if _, ok := staged.get("texts/r0000000.txt"); !ok && n > 0 {
				t.Errorf("the inventory's first file is missing")
			}
		}, func(field, rel, sum string) {
			if field == "staged" {
				staged.add(rel, sum)
			}
		}, nil)
	})
	if err != nil || !got || staged.count() != n {
		t.Fatalf("inventory of %d files: %v, message %v, %d files read", n, err, got, staged.count())
	}
	runtime.KeepAlive(staged)
	return peak
}

// inventoryBytesPerFile bounds what reading the inventory adds to the
// plugin's heap at its peak, a file: a record of a path and a digest.
// One line decoded into two maps of strings took 378 bytes a file here;
// the table of records takes about 180 (72 of them live, the rest the
// decoder's garbage).
const inventoryBytesPerFile = 250

// TestInventoryHeapPerFile reads inventories of two sizes and bounds the
// heap's growth a file between them (the slope: what is fixed cancels out).
func TestInventoryHeapPerFile(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	const small, big = 20000, 120000
	ps, pb := inventoryPeak(t, small), inventoryPeak(t, big)
	per := (pb - ps) / (big - small)
	t.Logf("inventory heap at its peak: %d bytes (%d files), %d bytes (%d files): %d bytes a file", ps, small, pb, big, per)
	if bound := int64(inventoryBytesPerFile * heapPercent / 100); per > bound {
		t.Errorf("reading the inventory took %d bytes a file at its peak, bound %d: a million files would not fit the plugin's bound", per, bound)
	}
}
