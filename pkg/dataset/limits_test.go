package dataset

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseBytes(t *testing.T) {
	good := map[string]int64{
		"10G": 10e9, "10GB": 10e9, "10g": 10e9, "500Mi": 500 << 20, "500MiB": 500 << 20, "1.5Gi": 3 << 29,
		"2TiB": 2 << 40, "2000000": 2e6, "1k": 1000, "1Ki": 1024, " 3 Mi ": 3 << 20, "7B": 7, //nolint:gocritic // the spaces around " 3 Mi " are the case
	}
	for in, want := range good {
		got, err := ParseBytes(in)
		if err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "G", "ten", "10X", "-5G", "0", "1e3", "10 G B", "0.1", "1..5G", "99999999P"} {
		if n, err := ParseBytes(in); err == nil {
			t.Errorf("ParseBytes(%q) = %d, want an error", in, n)
		}
	}
}

func TestNoCapByDefault(t *testing.T) {
	// The first release refused 1 GiB in all and 500 MiB a file; with no
	// --max-size there is no cap at all.
	for _, n := range []int64{500<<20 + 1, 1<<30 + 1, 1 << 50} {
		if msg, over := DefaultLimits.over(n); over {
			t.Errorf("DefaultLimits refuses %d bytes: %s", n, msg)
		}
	}
	msg, over := Limits{MaxTotalBytes: 1 << 30}.over(1<<30 + 1)
	if !over || !strings.Contains(msg, "--max-size cap of 1.0 GiB") {
		t.Errorf("a 1 GiB cap lets 1 GiB + 1 through or says it badly: %v %q", over, msg)
	}
	if _, over := (Limits{MaxTotalBytes: 1 << 30}).over(1 << 30); over {
		t.Error("a dataset of exactly the cap is refused")
	}
}

func TestCrowdedFolders(t *testing.T) {
	var files []File
	for i := range CrowdedFolder + 1 {
		files = append(files, File{Rel: fmt.Sprintf("texts/%d.txt", i)})
	}
	for i := range CrowdedFolder {
		files = append(files, File{Rel: fmt.Sprintf("images/%d.jpg", i)})
	}
	files = append(files, File{Rel: LabelsFile})
	notes := CrowdedFolders(files)
	if len(notes) != 1 || !strings.HasPrefix(notes[0], "texts/ holds 100001 files") {
		t.Fatalf("notes = %q, want one for texts/ alone (images/ holds exactly the limit)", notes)
	}
}

// TestOverTheCapByLessThanItsRounding: a dataset over the cap by less than
// what the sizes are rounded to names both in bytes ("holds 106.6 MiB, over
// the cap of 106.6 MiB" read as no reason at all).
func TestOverTheCapByLessThanItsRounding(t *testing.T) {
	msg, over := Limits{MaxTotalBytes: 111789496}.over(111789497)
	if !over || !strings.Contains(msg, "111789497 bytes") || !strings.Contains(msg, "111789496 bytes") {
		t.Errorf("over = %v, message %q, want both sizes in bytes", over, msg)
	}
	if msg, _ := (Limits{MaxTotalBytes: 1 << 30}).over(2 << 30); strings.Contains(msg, "bytes)") {
		t.Errorf("message %q gives bytes where the rounded sizes differ", msg)
	}
}
