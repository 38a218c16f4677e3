package transfer

import (
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/datafile"
)

// put records e for the file of l staged as rel, as hashing it would.
func (l *Local) put(rel string, e localEntry) {
	i := l.index(rel, -1)
	if i < 0 {
		panic("put: " + rel + " is not among the files")
	}
	l.recs[i] = e
}

// TestLocalLooksUpInOrderWithoutAnIndex: the stream and verify look files
// up by name in the order of the list; each is found next to the last,
// without the sorted index (4 bytes a file, and a sort of every path). A
// name out of that order is still found, and one not listed is not.
func TestLocalLooksUpInOrderWithoutAnIndex(t *testing.T) {
	files := []datafile.File{{Rel: "texts/b.txt"}, {Rel: "texts/a.txt"}, {Rel: "labels.csv"}, {Rel: "texts/c.txt"}}
	l := NewLocal(files)
	for i, f := range files {
		if got := l.index(f.Rel, -1); got != i {
			t.Fatalf("%s found at %d, want %d", f.Rel, got, i)
		}
	}
	if l.byName != nil {
		t.Fatalf("looking the files up in order built the index of names")
	}
	for i, rel := range []string{"labels.csv", "texts/b.txt", "texts/c.txt", "texts/a.txt"} {
		if got, want := l.index(rel, -1), []int{2, 0, 3, 1}[i]; got != want {
			t.Errorf("%s found at %d out of order, want %d", rel, got, want)
		}
	}
	if got := l.index("texts/d.txt", -1); got != -1 {
		t.Errorf("a name not listed found at %d", got)
	}
}
