//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
	"github.com/tracebloc/kubectl-tracebloc/pkg/lock"
)

// smallNS is the client whose client-pvc is a tmpfs of 8 MiB and 2 048
// inodes (hack/localcluster/fixture-small-pv.yaml).
const smallNS = "tracebloc-small"

// smallVolume is the host folder of the small volume.
func smallVolume(t *testing.T) string {
	t.Helper()
	state := os.Getenv("LOCALCLUSTER_STATE")
	if state == "" {
		t.Fatal("LOCALCLUSTER_STATE is not set: source the local cluster's env")
	}
	dir := filepath.Join(state, "volumes", "small-client-pvc")
	if _, err := client.CoreV1().PersistentVolumeClaims(smallNS).Get(context.Background(), "client-pvc", metav1.GetOptions{}); err != nil {
		t.Fatalf("the small-volume fixture is not installed (%v): run LC_STATE=%s bash hack/localcluster/cluster.sh small-volume", err, state)
	}
	return dir
}

// transferCounts is the part of -o json the hash cache tests read.
type transferCounts struct {
	Transfer *struct {
		SentFiles    int `json:"sent_files"`
		HashedFiles  int `json:"hashed_files"`
		CachedHashes int `json:"cached_hashes"`
	} `json:"transfer"`
}

// TestPushThatCannotFitStopsBeforeSending pushes a dataset larger than the
// free space of a real small volume: exit 7 with what is needed and what
// is free, before the stream starts (the OnPlan line "sending N of M
// files" never comes), and nothing left on the volume or in the namespace.
// Without the check the same push fails too, but halfway, on ENOSPC.
func TestPushThatCannotFitStopsBeforeSending(t *testing.T) {
	const table = "e2e_no_room"
	vol := smallVolume(t)
	dir := filepath.Join(t.TempDir(), "big")
	// 120 incompressible 176×176 PNGs: about 11 MB, over the 8 MiB volume.
	if err := fixture.Write(dir, fixture.Options{Images: 120, Width: 176, Height: 176, Ext: ".png", Noise: true}); err != nil {
		t.Fatal(err)
	}
	// What this test staged, here or in an earlier run on the same
	// cluster: the table's folder and its manifest.
	forget := func() {
		entries, _ := os.ReadDir(filepath.Join(vol, ".tracebloc-staging"))
		for _, e := range entries {
			if strings.Contains(e.Name(), table) {
				_ = os.RemoveAll(filepath.Join(vol, ".tracebloc-staging", e.Name()))
			}
		}
		_ = client.CoordinationV1().Leases(smallNS).Delete(context.Background(), lock.LeaseName(table), metav1.DeleteOptions{})
	}
	forget()
	t.Cleanup(forget)
	r := runPlugin(t, nil, "push", dir, "--table", table, "-n", smallNS, "-o", "json")
	if r.code != 7 {
		t.Fatalf("push of 11 MB to an 8 MiB volume: want exit 7\n%s", r)
	}
	rep := parseReport(t, r)
	for _, s := range []string{"the shared volume has room for", "needs", "files to send", "nothing was sent", "grow it"} {
		if !strings.Contains(rep.Error, s) {
			t.Errorf("the error does not say %q: %s", s, rep.Error)
		}
	}
	if strings.Contains(r.stderr, "sending ") {
		t.Errorf("the stream started before the refusal:\n%s", r.stderr)
	}
	if rep.Transfer != nil && rep.Transfer.WireBytes > 0 {
		t.Errorf("%d bytes went on the wire", rep.Transfer.WireBytes)
	}
	assertNoStagePods(t, smallNS)
	entries, _ := os.ReadDir(filepath.Join(vol, ".tracebloc-staging"))
	for _, e := range entries {
		if strings.Contains(e.Name(), table) {
			t.Errorf("left on the volume: %s", e.Name())
		}
	}

	// A dataset that fits goes through on the same volume.
	ok := runPlugin(t, nil, "push", smallDataset(t), "--table", table, "-n", smallNS)
	if ok.code != 0 {
		t.Fatalf("a small dataset on the small volume:\n%s", ok)
	}
}

// TestMaxSize: --max-size sets a cap the pre-flight enforces; a size it
// cannot read is a bad flag with examples.
func TestMaxSize(t *testing.T) {
	ds := smallDataset(t)
	r := runPlugin(t, nil, "push", ds, "--table", "e2e_max_size", "-n", ns, "--max-size", "1k")
	if r.code != 3 || !strings.Contains(r.stderr, "over the --max-size cap of 1000 B") {
		t.Errorf("a dataset over --max-size 1k: want exit 3 naming the cap\n%s", r)
	}
	r = runPlugin(t, nil, "push", ds, "--table", "e2e_max_size", "-n", ns, "--max-size", "ten gigs")
	if r.code != 2 || !strings.Contains(r.stderr, "e.g. --max-size 10G, 500Mi") {
		t.Errorf("--max-size 'ten gigs': want exit 2 with examples\n%s", r)
	}
	r = runPlugin(t, nil, "push", ds, "--table", "e2e_max_size", "-n", ns, "--max-size", "10Mi", "--dry-run")
	if r.code != 0 {
		t.Errorf("a dataset under --max-size 10Mi:\n%s", r)
	}
}

// TestHashCache: an unchanged re-push needs no hash at all (stat shows
// every file as the first push hashed it, and the staged copy is kept);
// after a same-size edit with the mtime put back, caught by the ctime,
// the push takes every other hash from the local cache and reads only the
// edited file, sends it, and stages it exactly.
func TestHashCache(t *testing.T) {
	const table = "e2e_hash_cache"
	removeStaged(t, table)
	dir := filepath.Join(t.TempDir(), "texts")
	if err := fixture.WriteText(dir, fixture.TextOptions{Task: "text_classification", Files: 300}); err != nil {
		t.Fatal(err)
	}
	// Files written within 3 s of a push are not cached (their times could
	// survive a write right after the hashing).
	time.Sleep(3500 * time.Millisecond)
	env := []string{"TRACEBLOC_CACHE_DIR=" + t.TempDir()}
	push := func(what string) transferCounts {
		t.Helper()
		r := runPlugin(t, env, "push", dir, "--table", table, "-n", ns, "--category", "text_classification", "-o", "json")
		if r.code != 0 {
			t.Fatalf("%s:\n%s", what, r)
		}
		var c transferCounts
		if err := json.Unmarshal([]byte(r.stdout), &c); err != nil || c.Transfer == nil {
			t.Fatalf("%s: %v\n%s", what, err, r)
		}
		return c
	}
	first := push("first push")
	if first.Transfer.SentFiles != 301 {
		t.Fatalf("first push sent %d files, want 301", first.Transfer.SentFiles)
	}
	again := push("unchanged re-push")
	if c := again.Transfer; c.SentFiles != 0 || c.HashedFiles != 0 || c.CachedHashes != 0 {
		t.Errorf("unchanged re-push: sent %d, read %d to hash, %d from the cache; want 0, 0, 0", c.SentFiles, c.HashedFiles, c.CachedHashes)
	}
	// Same size, mtime put back: only the ctime tells.
	entries, err := os.ReadDir(filepath.Join(dir, "texts"))
	if err != nil || len(entries) == 0 {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "texts", entries[0].Name())
	editKeepingMtime(t, path, func(b []byte) []byte { return []byte(strings.ToUpper(string(b))) })
	edit := push("re-push after a same-size edit with the mtime put back")
	if c := edit.Transfer; c.SentFiles != 1 || c.HashedFiles != 1 || c.CachedHashes != 300 {
		t.Errorf("after the edit: sent %d, read %d to hash, %d from the cache; want 1, 1, 300", c.SentFiles, c.HashedFiles, c.CachedHashes)
	}
	if diff := cmp.Diff(localSums(t, dir), stagedSums(t, table)); diff != "" {
		t.Errorf("staged copy differs from the local dataset (-local +staged):\n%s", diff)
	}
}

// editKeepingMtime rewrites the file at path in place with edit's bytes,
// of the same size and other than before, and puts its mtime back: only
// the ctime tells the file changed.
func editKeepingMtime(t *testing.T, path string, edit func([]byte) []byte) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edited := edit(bytes.Clone(body))
	if bytes.Equal(edited, body) || len(edited) != len(body) {
		t.Fatalf("cannot make a same-size edit of %s", path)
	}
	must(t, os.WriteFile(path, edited, 0o644))
	must(t, os.Chtimes(path, info.ModTime(), info.ModTime()))
}
