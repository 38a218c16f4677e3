//go:build linux

package agent

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
)

// recipeEntry is a tar stream of one entry holding ops, read back to the
// start of that entry.
func recipeEntry(t *testing.T, ops []byte) *tar.Reader {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	if err := tw.WriteHeader(&tar.Header{Name: "data/f", Mode: 0o644, Size: int64(len(ops)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(ops); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&b)
	if _, err := tr.Next(); err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestRecipeReaderBuildsTheFile: copies from the staged file and bytes
// from the stream, in order, whatever their sizes; a last data op larger
// than the reader's buffer (its bytes come with the entry's end) included.
func TestRecipeReaderBuildsTheFile(t *testing.T) {
	staged := bytes.Repeat([]byte("0123456789abcdef"), 40000)
	src := filepath.Join(t.TempDir(), "staged")
	if err := os.WriteFile(src, staged, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fresh := bytes.Repeat([]byte("new row\n"), 50000)
	var ops []byte
	ops = proto.AppendCopyOp(ops, 100, 5000)
	ops = append(proto.AppendDataHeader(ops, 7), fresh[:7]...)
	ops = proto.AppendCopyOp(ops, 0, int64(len(staged)))
	ops = append(proto.AppendDataHeader(ops, int64(len(fresh))), fresh...)
	want := append(append(append(bytes.Clone(staged[100:5100]), fresh[:7]...), staged...), fresh...)
	got, err := io.ReadAll(io.Reader(newRecipeReader(recipeEntry(t, ops), f, int64(len(staged)))))
	if err != nil {
		t.Fatalf("reading the recipe: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("the recipe built %d bytes that differ from the %d wanted", len(got), len(want))
	}

	// Cut inside a data op, or copying past the staged file's end: an error.
	for name, ops := range map[string][]byte{
		"cut_data":   append(proto.AppendDataHeader(nil, 10), "abc"...),
		"past_end":   proto.AppendCopyOp(nil, int64(len(staged))-10, 11),
		"unknown_op": []byte("x"),
	} {
		if _, err := io.ReadAll(io.Reader(newRecipeReader(recipeEntry(t, ops), f, int64(len(staged))))); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
