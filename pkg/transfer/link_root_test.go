package transfer

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset"
)

// TestStageDatasetFolderGivenThroughALink: the folder the user names may
// itself be a link (a dataset kept on another disk, linked from home). The
// pre-flight follows it, so hashing and sending must read the same folder;
// links inside it are still refused.
func TestStageDatasetFolderGivenThroughALink(t *testing.T) {
	w := newWorld(t)
	link := filepath.Join(t.TempDir(), "cats")
	must(t, os.Symlink(w.local, link))
	ds, err := dataset.Check(link, dataset.Options{LabelColumn: "label", Limits: dataset.DefaultLimits})
	if err != nil {
		t.Fatalf("pre-flight refused the linked folder: %v", err)
	}
	local, err := HashFiles(ds.Root, ds.Files)
	if err != nil {
		t.Fatalf("hashing the linked folder: %v", err)
	}
	_, err = Sync(context.Background(), Options{Root: ds.Root, Files: ds.Files, Local: local, Table: "cats", Nonce: "push-1",
		Agent: w.agent(), Compress: CompressNever})
	if err != nil {
		t.Fatalf("staging the linked folder: %v", err)
	}
	w.assertExactCopy()
}
