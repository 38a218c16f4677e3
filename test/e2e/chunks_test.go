//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
)

// chunkCounts is the part of -o json the recipe test reads.
type chunkCounts struct {
	Transfer *struct {
		SentBytes        int64 `json:"sent_bytes"`
		ChunkReusedBytes int64 `json:"chunk_reused_bytes"`
		WireBytes        int64 `json:"wire_bytes"`
		Rounds           int   `json:"rounds"`
	} `json:"transfer"`
}

// editAndAppend edits three rows in the middle of the CSV at p (a digit
// each, same size) and appends new rows for about 1 % of its size.
func editAndAppend(t *testing.T, p string) {
	t.Helper()
	for _, frac := range []float64{0.45, 0.5, 0.55} {
		editDigit(t, p, frac)
	}
	st, err := os.Stat(p)
	must(t, err)
	more := filepath.Join(t.TempDir(), "more.csv")
	if _, err := fixture.WriteTabular(more, fixture.TabularOptions{Task: "tabular_classification", Bytes: st.Size() / 100, Seed: 99}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(more)
	must(t, err)
	rows := b[bytes.IndexByte(b, '\n')+1:] // without the header
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	must(t, err)
	_, err = f.Write(rows)
	must(t, err)
	must(t, f.Close())
}

// TestRepushSendsOnlyTheChangedChunks: a 100 MB CSV staged (--stage-only keeps it), then
// three rows edited in the middle and 1 % appended: the next push sends
// the file as a recipe against the staged copy (the agent copies the
// chunks the volume holds), at most 3 % of the file's compressed size on
// the wire plus a constant, and the staged copy is exactly the new file
// (checked from the reader Pod).
func TestRepushSendsOnlyTheChangedChunks(t *testing.T) {
	const table = "e2e_chunks"
	removeStaged(t, table)
	dir := filepath.Join(t.TempDir(), "csv")
	csv := filepath.Join(dir, "sales.csv")
	must(t, os.MkdirAll(dir, 0o755))
	if _, err := fixture.WriteTabular(csv, fixture.TabularOptions{Task: "tabular_classification", Bytes: 100e6, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	flags := []string{"--task", "tabular_classification", "--compress", "always"} // pluginCmd adds --stage-only: the staged copy is kept
	push := func() (result, chunkCounts) {
		t.Helper()
		r := runPlugin(t, nil, append([]string{"push", dir, "--table", table, "-n", ns, "-o", "json"}, flags...)...)
		var c chunkCounts
		if err := json.Unmarshal([]byte(r.stdout), &c); err != nil || c.Transfer == nil || r.code != 0 {
			t.Fatalf("push: %v\n%s", err, r)
		}
		return r, c
	}
	_, c := push()
	first := c.Transfer
	assertStagedCSV(t, csv, table)
	if first.ChunkReusedBytes != 0 {
		t.Fatalf("the first push reused %d bytes of chunks, with nothing staged", first.ChunkReusedBytes)
	}
	editAndAppend(t, csv)
	st, err := os.Stat(csv)
	must(t, err)
	r, c := push()
	second := c.Transfer
	if !strings.Contains(r.stderr, "sending only the changed parts of big files") {
		t.Errorf("the push did not say it sent only the changed parts:\n%s", r.stderr)
	}
	assertStagedCSV(t, csv, table)
	// The first push's wire bytes are the file compressed (and a plan).
	limit := first.WireBytes*3/100 + 256<<10
	t.Logf("%d bytes: first push %d on the wire; after the edits sent %d, reused %d, wire %d (%.2f %% of the first; limit %d)",
		st.Size(), first.WireBytes, second.SentBytes, second.ChunkReusedBytes, second.WireBytes, 100*float64(second.WireBytes)/float64(first.WireBytes), limit)
	if second.WireBytes > limit || second.Rounds != 1 || second.SentBytes+second.ChunkReusedBytes != st.Size() {
		t.Errorf("the re-push put %d bytes on the wire in %d rounds (sent %d, reused %d of %d): want at most %d in one round",
			second.WireBytes, second.Rounds, second.SentBytes, second.ChunkReusedBytes, st.Size(), limit)
	}
	assertNoStagePodsOf(t, table)
}
