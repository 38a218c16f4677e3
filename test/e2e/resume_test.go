//go:build e2e

package e2e

import (
	"github.com/tracebloc/kubectl-tracebloc/test/harness"

	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
)

// resumeCounts is the part of -o json the resume tests read.
type resumeCounts struct {
	Transfer *struct {
		SentFiles    int   `json:"sent_files"`
		SentBytes    int64 `json:"sent_bytes"`
		ResumedBytes int64 `json:"resumed_bytes"`
		WireBytes    int64 `json:"wire_bytes"`
	} `json:"transfer"`
}

// cutPush starts a push and, once its progress passes percent, deletes its
// stage Pod at once: the agent dies mid-file and the stream breaks. With
// --retries 0 the push then fails (exit 7), leaving the partial copy.
func cutPush(t testing.TB, dir, table string, percent int, extra ...string) result {
	t.Helper()
	args := append([]string{"push", dir, "--table", table, "-n", ns, "--retries", "0"}, extra...)
	out, errOut, code := harness.CutPush(t, client, pluginCmd([]string{"TRACEBLOC_PROGRESS_INTERVAL=200ms"}, args...), table, percent)
	return result{stdout: out, stderr: errOut, code: code}
}

// pushCounts pushes and reads the transfer figures of -o json.
func pushCounts(t *testing.T, dir, table string, extra ...string) (result, resumeCounts) {
	t.Helper()
	r := runPlugin(t, nil, append([]string{"push", dir, "--table", table, "-n", ns, "-o", "json"}, extra...)...)
	var c resumeCounts
	if err := json.Unmarshal([]byte(r.stdout), &c); err != nil || c.Transfer == nil {
		t.Fatalf("push: %v\n%s", err, r)
	}
	return r, c
}

// TestResumeInsideAFile: a 96 MB CSV whose stream is cut past half way
// (the stage Pod deleted under it) is continued by the next push from the
// agent's last checkpoint: only the rest goes out, and the staged copy is
// exact. The same cut followed by a local edit in the part that had
// arrived sends the file whole, still exact.
func TestResumeInsideAFile(t *testing.T) {
	const table = "e2e_resume_file"
	removeStaged(t, table)
	dir, csv, size := salesCSV(t, 96e6, 1)
	// Capped so that the cut lands mid-file; plain, so that the figures
	// are the file's bytes.
	flags := []string{"--task", "tabular_classification", "--compress", "never", "--bwlimit", "8M"}

	if r := cutPush(t, dir, table, 50, flags...); r.code != 7 {
		t.Fatalf("cut push: exit %d, want 7:\n%s", r.code, r)
	}
	r, c := pushCounts(t, dir, table, flags...)
	if r.code != 0 {
		t.Fatalf("push after the cut:\n%s", r)
	}
	assertStagedCSV(t, csv, table)
	tr := c.Transfer
	t.Logf("after a cut past 50%%: resumed %d of %d bytes, sent %d (wire %d)", tr.ResumedBytes, size, tr.SentBytes, tr.WireBytes)
	if tr.ResumedBytes < size*3/10 || tr.SentBytes != size-tr.ResumedBytes {
		t.Errorf("resumed %d and sent %d bytes of %d: want at least 30%% resumed (the cut came past 50%%) and only the rest sent", tr.ResumedBytes, tr.SentBytes, size)
	}
	if !strings.Contains(r.stderr, "continuing a file the last stream broke off in") {
		t.Errorf("the push did not say it continued the cut file:\n%s", r.stderr)
	}

	// Another version of the file, cut again; then its start edited.
	if _, err := fixture.WriteTabular(csv, fixture.TabularOptions{Task: "tabular_classification", Bytes: 96e6, Seed: 2}); err != nil {
		t.Fatal(err)
	}
	if r := cutPush(t, dir, table, 50, flags...); r.code != 7 {
		t.Fatalf("second cut push: exit %d, want 7:\n%s", r.code, r)
	}
	editDigit(t, csv, 0.1)
	st, err := os.Stat(csv)
	must(t, err)
	r, c = pushCounts(t, dir, table, flags...)
	if r.code != 0 {
		t.Fatalf("push after the cut and the edit:\n%s", r)
	}
	assertStagedCSV(t, csv, table)
	if tr := c.Transfer; tr.ResumedBytes != 0 || tr.SentBytes != st.Size() {
		t.Errorf("after an edit in the part that had arrived: resumed %d, sent %d of %d bytes; want the file sent whole", tr.ResumedBytes, tr.SentBytes, st.Size())
	}
	assertNoStagePodsOf(t, table)
}

// editDigit changes one digit of the file at about frac of its length:
// same size, still a valid CSV, other content.
func editDigit(t *testing.T, p string, frac float64) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	must(t, err)
	defer f.Close()
	st, err := f.Stat()
	must(t, err)
	at := int64(float64(st.Size()) * frac)
	buf := make([]byte, 4096)
	n, err := f.ReadAt(buf, at)
	if n == 0 {
		t.Fatal(err)
	}
	for i, b := range buf[:n] {
		if b >= '1' && b <= '8' {
			_, err := f.WriteAt([]byte{b + 1}, at+int64(i))
			must(t, err)
			return
		}
	}
	t.Fatal("no digit to edit")
}

// assertStagedCSV checks, from the reader Pod, that the staged copy of a
// tabular table is exactly the local CSV (staged as labels.csv).
func assertStagedCSV(t *testing.T, csv, table string) {
	t.Helper()
	want := map[string]string{"labels.csv": localSums(t, filepath.Dir(csv))[filepath.Base(csv)]}
	if diff := cmp.Diff(want, stagedSums(t, table)); diff != "" {
		t.Fatalf("staged copy of %s differs from %s (-local +staged):\n%s", table, csv, diff)
	}
}

// salesCSV writes a tabular_classification CSV of about n bytes (its rows
// drawn from seed) alone in a folder of its own.
func salesCSV(t *testing.T, n int64, seed uint64) (dir, csv string, size int64) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "csv")
	csv = filepath.Join(dir, "sales.csv")
	must(t, os.MkdirAll(dir, 0o755))
	if _, err := fixture.WriteTabular(csv, fixture.TabularOptions{Task: "tabular_classification", Bytes: n, Seed: seed}); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(csv)
	must(t, err)
	return dir, csv, st.Size()
}
