package push

import (
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset"
)

// TestHashEarlyKeepsOneLocalAcrossAttempts: on a first push files are
// hashed as they are sent, into the Local the attempt was given. A retry
// after a broken stream must get that same Local back, or it reads every
// file that reached the volume again before it can resume.
func TestHashEarlyKeepsOneLocalAcrossAttempts(t *testing.T) {
	for _, early := range []bool{false, true} {
		localSums := hashEarly(&dataset.Dataset{Root: t.TempDir()}, early, nil, nil, "cats")
		first, _, err := localSums()
		if err != nil {
			t.Fatal(err)
		}
		again, _, err := localSums()
		if err != nil {
			t.Fatal(err)
		}
		if first != again {
			t.Errorf("early=%v: the second attempt got a new Local; the hashes the first took while sending are lost", early)
		}
	}
}
