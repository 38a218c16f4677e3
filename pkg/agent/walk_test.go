//go:build linux

package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestWalkOfABigFolder: a folder past the size whose stats are taken by
// several workers reports every entry once, in the order the folder lists
// them, each with its own stat (files as files, anything else as odd),
// and an entry gone between the listing and its stat is left out.
func TestWalkOfABigFolder(t *testing.T) {
	root := t.TempDir()
	folder := filepath.Join(root, "texts")
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	n := 2*statBatch + 1000
	oddNames := map[string]bool{}
	for i := range n {
		name := fmt.Sprintf("r%05d.txt", i)
		p := filepath.Join(folder, name)
		var err error
		switch i % 997 {
		case 3:
			err = os.Symlink("/etc/passwd", p)
			oddNames[name] = true
		case 5:
			err = unix.Mkfifo(p, 0o600)
			oddNames[name] = true
		default:
			// Sizes tell each file's stat from its neighbours'.
			err = os.WriteFile(p, make([]byte, i%300), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	d, err := openRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	sub, err := d.openDir("texts")
	if err != nil {
		t.Fatal(err)
	}
	listed, err := sub.names()
	sub.close()
	if err != nil {
		t.Fatal(err)
	}
	// One listed name is removed before the walk: the walk lists the
	// folder again, so it is simply not there.
	gone := listed[statBatch+7]
	if err := os.Remove(filepath.Join(folder, gone)); err != nil {
		t.Fatal(err)
	}
	var order []string
	seen := map[string]bool{}
	err = walkEach(d, func(_ *dir, name, rel string, st *unix.Stat_t) {
		if !oddNames[name] || rel != "texts/"+name || isFile(st) {
			t.Errorf("odd entry %s (%s), a %s", rel, name, kindOf(st))
		}
		order = append(order, name)
		seen[name] = true
	}, nil, func(folder, name string, info fileInfo) {
		var i int
		if _, err := fmt.Sscanf(name, "r%05d.txt", &i); err != nil || folder != "texts" || oddNames[name] || info.size != int64(i%300) {
			t.Errorf("file %s/%s of %d bytes", folder, name, info.size)
		}
		if seen[name] {
			t.Errorf("%s reported twice", name)
		}
		order = append(order, name)
		seen[name] = true
	})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, name := range listed {
		if name != gone {
			want = append(want, name)
		}
	}
	if len(order) != len(want) {
		t.Fatalf("the walk reported %d entries, want %d", len(order), len(want))
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("entry %d is %s, want %s (the folder's order)", i, order[i], want[i])
		}
	}
}
