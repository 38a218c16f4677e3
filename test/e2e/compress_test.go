//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
)

// TestCompressionFollowsTheLink: a large CSV pushed on loopback goes largely
// as s2 (zstd cannot compress as fast as the link takes s2's output); at
// 100 Mbit/s (tc on the veth to the cluster) mostly as zstd, in fewer bytes
// on the wire. Either way the staged copy is the user's file, verified.
func TestCompressionFollowsTheLink(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "csv")
	must(t, os.MkdirAll(dir, 0o755))
	if _, err := fixture.WriteTabular(filepath.Join(dir, "labels.csv"), fixture.TabularOptions{Task: "tabular_classification", Bytes: 150e6}); err != nil {
		t.Fatal(err)
	}
	pushOn := func(link, table string) report {
		t.Helper()
		removeStaged(t, table)
		r, rep := push(t, dir, table, "--task", "tabular_classification")
		if r.code != 0 || rep.Transfer == nil || !rep.Verified {
			t.Fatalf("push on %s:\n%s", link, r)
		}
		assertStagedCopy(t, dir, table)
		t.Logf("%s: %d bytes on the wire, codecs %v", link, rep.Transfer.WireBytes, rep.Transfer.Codecs)
		return rep
	}
	share := func(rep report, codecs ...string) float64 {
		var n int64
		for _, c := range codecs {
			n += rep.Transfer.Codecs[c]
		}
		return float64(n) / float64(rep.Transfer.SentBytes)
	}

	fast := pushOn("loopback", "e2e_compress_fast")
	// How much goes as s2 depends on this machine's speeds; on the 2 cores
	// of CI it is 65-95 %.
	if s := share(fast, "s2"); s < 0.25 {
		t.Errorf("loopback: s2 carried %.0f %% of the data, want at least 25 %% (codecs %v)", 100*s, fast.Transfer.Codecs)
	}

	slowLink(t)
	slow := pushOn("100 Mbit/s", "e2e_compress_slow")
	if s := share(slow, "zstd", "zstd-better"); s < 0.8 {
		t.Errorf("100 Mbit/s: zstd carried %.0f %% of the data, want at least 80 %% (codecs %v)", 100*s, slow.Transfer.Codecs)
	}
	if slow.Transfer.WireBytes >= fast.Transfer.WireBytes {
		t.Errorf("100 Mbit/s: %d bytes on the wire, no fewer than the %d of loopback", slow.Transfer.WireBytes, fast.Transfer.WireBytes)
	}
	removeStaged(t, "e2e_compress_fast")
	removeStaged(t, "e2e_compress_slow")
}
