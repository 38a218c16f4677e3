//go:build e2e

package e2e

import (
	"strings"
	"testing"
)

// victimSnapshot describes every entry of the victim folder: type, mode,
// size and content hash.
func victimSnapshot(t *testing.T) string {
	t.Helper()
	return inReader(t, `cd /data/shared/e2e_victim && find . | sort | while IFS= read -r p; do
  if [ -f "$p" ] && [ ! -L "$p" ]; then echo "$p $(stat -c '%F %a %s' "$p") $(sha256sum < "$p")"; else echo "$p $(stat -c '%F %a' "$p")"; fi
done`)
}

// TestPushOnAHostileVolume plants, through another Pod on the shared
// volume, what a hostile tenant could: links, a hard link and a FIFO where
// a push works. Each push must succeed with an exact copy, never hang, and
// leave the victim folder outside the staging area as it was.
func TestPushOnAHostileVolume(t *testing.T) {
	const table = "e2e_hostile"
	S := stagingDir
	cases := []struct{ name, plant string }{
		{"partial data is a link", `mkdir -p "$S/.partial-$T" && ln -s /data/shared/e2e_victim/data "$S/.partial-$T/data"`},
		{"partial folder is a link", `ln -s /data/shared/e2e_victim "$S/.partial-$T"`},
		{"manifest is a link", `ln -sf /data/shared/e2e_victim/secret.txt "$S/.$T.manifest"`},
		{"manifest is a FIFO", `rm -f "$S/.$T.manifest"; mkfifo "$S/.$T.manifest"`},
		{"partial file is a hard link", `mkdir -p "$S/.partial-$T/data/images" && ln /data/shared/e2e_victim/secret.txt "$S/.partial-$T/data/images/img_00000.jpg"`},
		{"staged file is a link", `mkdir -p "$S/$T/images" && rm -f "$S/$T/images/img_00001.jpg" && ln -s /data/shared/e2e_victim/secret.txt "$S/$T/images/img_00001.jpg"`},
		{"staged copy is a link", `rm -rf "$S/$T" && ln -s /data/shared/e2e_victim/data "$S/$T"`},
	}
	removeStaged(t, table)
	t.Cleanup(func() { inReader(t, `rm -rf /data/shared/e2e_victim`) })
	dir := smallDataset(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inReader(t, `rm -rf /data/shared/e2e_victim && mkdir -p /data/shared/e2e_victim/data/images &&
echo not yours > /data/shared/e2e_victim/secret.txt && echo keep > /data/shared/e2e_victim/data/labels.csv &&
echo mine > /data/shared/e2e_victim/data/images/img_00000.jpg && mkdir -p "$1"`, S)
			inReader(t, `S="$1"; T="$2"; `+c.plant, S, table)
			before := victimSnapshot(t)
			r := runPlugin(t, nil, "push", dir, "--table", table, "-n", ns)
			if r.code != 0 {
				t.Fatalf("push: %s", r)
			}
			if after := victimSnapshot(t); after != before {
				t.Errorf("the push changed data outside its table:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			if kind := inReader(t, `stat -c %F "$1/$2"`, S, table); !strings.HasPrefix(kind, "directory") {
				t.Errorf("the staged copy is a %s", kind)
			}
			assertStagedCopy(t, dir, table)
			assertNoStagePodsOf(t, table)
		})
	}
}
