package status

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseTables(t *testing.T) {
	got, err := parseTables("cats 201 412337 1764100000\n_x 1 10 1764100001\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []Table{{Name: "cats", Files: 201, Bytes: 412337, StagedAt: time.Unix(1764100000, 0).UTC()},
		{Name: "_x", Files: 1, Bytes: 10, StagedAt: time.Unix(1764100001, 0).UTC()}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tables (-want +got):\n%s", diff)
	}
	if _, err := parseTables("cats two 3 4\n"); err == nil {
		t.Error("a malformed line was accepted")
	}
	if got, err := parseTables(""); err != nil || len(got) != 0 {
		t.Errorf("empty folder: %v, %v", got, err)
	}
}
