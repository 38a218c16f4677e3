//go:build unix

package dataset

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// A file the walk saw may be replaced before it is read: a link is not
// followed and a FIFO is not waited on.
func TestOpenReadRefusesWhatIsNoLongerAFile(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(t.TempDir(), "secret")
	writeFile(t, secret, "outside the dataset")
	writeFile(t, filepath.Join(dir, "file.txt"), "text")
	must(t, os.Symlink(secret, filepath.Join(dir, "link.txt")))
	must(t, syscall.Mkfifo(filepath.Join(dir, "fifo.txt"), 0o644))
	must(t, os.Mkdir(filepath.Join(dir, "folder.txt"), 0o755))
	for _, name := range []string{"link.txt", "fifo.txt", "folder.txt"} {
		t.Run(name, func(t *testing.T) {
			f, err := openRead(filepath.Join(dir, name))
			if err == nil {
				f.close()
				t.Fatal("opened")
			}
			if !errors.Is(err, errNotRegular) {
				t.Errorf("err = %v, want it named as no longer a regular file", err)
			}
		})
	}
	f, err := openRead(filepath.Join(dir, "file.txt"))
	must(t, err)
	f.close()
}
