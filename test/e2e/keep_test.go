//go:build e2e

package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
)

// keptCounts is the part of the push's -o json that says what the
// transfer did with the staged copy.
type keptCounts struct {
	Transfer *struct {
		SentFiles int   `json:"sent_files"`
		Verified  int   `json:"verified_files"`
		Kept      bool  `json:"kept_in_place"`
		Hashed    int   `json:"hashed_files"`
		Cached    int   `json:"cached_hashes"`
		Wire      int64 `json:"wire_bytes"`
	} `json:"transfer"`
}

// TestUnchangedRepushKeepsTheStagedCopy: an unchanged re-push keeps the
// staged copy in place on the real volume (the table's folder has the same
// inode, as the reader Pod sees it) and it stays the user's files exactly.
// The re-push hashes no file and names none over the wire: stat shows
// every local file as the first push hashed it, and the agent confirms
// the seal. Then another Pod writes a staged file in place (same size,
// mtime put back): the next push does not keep that copy; the file is
// sent again and the staged copy is the user's files again, never the
// tampered one. A local file written with its mtime put back is found by
// its ctime and sent.
func TestUnchangedRepushKeepsTheStagedCopy(t *testing.T) {
	const table = "e2e_keep_in_place"
	removeStaged(t, table)
	dir := filepath.Join(t.TempDir(), "texts")
	if err := fixture.WriteText(dir, fixture.TextOptions{Task: "text_classification", Files: 200}); err != nil {
		t.Fatal(err)
	}
	// Files written within 3 s of a push are not cached.
	time.Sleep(3500 * time.Millisecond)
	env := []string{"TRACEBLOC_CACHE_DIR=" + t.TempDir()}
	push := func(what string) keptCounts {
		t.Helper()
		r := runPlugin(t, env, "push", dir, "--table", table, "-n", ns, "--category", "text_classification", "-o", "json")
		if r.code != 0 {
			t.Fatalf("%s:\n%s", what, r)
		}
		var c keptCounts
		if err := json.Unmarshal([]byte(r.stdout), &c); err != nil || c.Transfer == nil {
			t.Fatalf("%s: %v\n%s", what, err, r)
		}
		return c
	}
	folderInode := func() string {
		t.Helper()
		return strings.TrimSpace(inReader(t, `stat -c %i "$1"`, stagingDir+"/"+table))
	}
	assertExact := func(when string) {
		t.Helper()
		if diff := cmp.Diff(localSums(t, dir), stagedSums(t, table)); diff != "" {
			t.Errorf("%s: the staged copy differs from the local dataset (-local +staged):\n%s", when, diff)
		}
	}
	if c := push("first push"); c.Transfer.Kept || c.Transfer.SentFiles != 201 {
		t.Fatalf("first push: %+v", *c.Transfer)
	}
	first := folderInode()
	again := push("unchanged re-push")
	if c := again.Transfer; !c.Kept || c.SentFiles != 0 || c.Verified != 201 || c.Hashed+c.Cached != 0 || c.Wire > 4096 {
		t.Errorf("unchanged re-push: %+v, want the staged copy kept with its 201 files, none hashed, no file list sent", *c)
	}
	if now := folderInode(); now != first {
		t.Errorf("unchanged re-push replaced the staged copy: inode %s, was %s", now, first)
	}
	assertExact("after the unchanged re-push")

	// Another Pod of the same uid writes into a staged file in place.
	victim := strings.TrimSpace(inReader(t, `cd "$1" && find texts -type f | sort | head -1`, stagingDir+"/"+table))
	inReader(t, `f="$1/$2"; ref="$1/.e2e-ref-$$"; touch -r "$f" "$ref" &&
		printf 'XYZ' | dd of="$f" bs=1 seek=2 conv=notrunc 2>/dev/null && touch -r "$ref" "$f"; rm -f "$ref"`,
		stagingDir+"/"+table, victim)
	if sums := stagedSums(t, table); sums[victim] == localSums(t, dir)[victim] {
		t.Fatalf("the reader Pod could not change %s", victim)
	}
	after := push("re-push after another Pod changed a staged file")
	if c := after.Transfer; c.Kept || c.SentFiles != 1 {
		t.Errorf("after the change: %+v, want the changed file sent again and a new copy", *c)
	}
	assertExact("after the re-push of the changed file")

	// The local side: a file written with its mtime put back.
	local := filepath.Join(dir, filepath.FromSlash(victim))
	editKeepingMtime(t, local, func(b []byte) []byte { b[0] ^= 1; return b })
	edited := push("re-push after a local file was written, its mtime put back")
	if c := edited.Transfer; c.Kept || c.SentFiles != 1 {
		t.Errorf("after the local edit: %+v, want the edited file sent and a new copy", *c)
	}
	assertExact("after the re-push of the locally edited file")
}
