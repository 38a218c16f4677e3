//go:build linux

package agent

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
)

// TestRemoveRefusesASetAsideNameThatClimbsOut: a name shaped like a
// set-aside copy (".old-<table>-<suffix>") must still be a single entry of
// the staging folder; with a slash it resolves through an existing leftover
// and reaches anything on the volume.
func TestRemoveRefusesASetAsideNameThatClimbsOut(t *testing.T) {
	for _, bad := range []string{
		".old-cats-abc/../../victim",
		".old-cats-abc/../../../victim",
		".old-cats-abc/..",
		".old-cats-",
		".old-cats-.",
		".old-cats-..",
	} {
		t.Run(bad, func(t *testing.T) {
			vol := filepath.Join(t.TempDir(), "vol")
			staging := filepath.Join(vol, proto.StagingDir)
			must(t, os.MkdirAll(filepath.Join(staging, ".old-cats-abc"), 0o755))
			victim := filepath.Join(vol, "victim")
			must(t, os.MkdirAll(victim, 0o755))
			must(t, os.WriteFile(filepath.Join(victim, "keep.txt"), []byte("another tenant's"), 0o644))
			outside := filepath.Join(filepath.Dir(vol), "victim")
			must(t, os.MkdirAll(outside, 0o755))
			must(t, os.WriteFile(filepath.Join(outside, "keep.txt"), []byte("outside the volume"), 0o644))

			_, code := runAgent(t, vol, nil, proto.CmdRemove, bad)
			if code != proto.KindUsage.Code() {
				t.Errorf("remove %q: exit %d, want usage (%d)", bad, code, proto.KindUsage.Code())
			}
			for _, p := range []string{filepath.Join(victim, "keep.txt"), filepath.Join(outside, "keep.txt"), filepath.Join(staging, ".old-cats-abc")} {
				if _, err := os.Lstat(p); err != nil {
					t.Errorf("remove %q removed %s: %v", bad, p, err)
				}
			}
		})
	}
}
