//go:build linux

package agent

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestVolumeSpaceIsStatfs(t *testing.T) {
	root := t.TempDir()
	d, err := openRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	sp := volumeSpace(d)
	var st unix.Statfs_t
	if err := unix.Statfs(root, &st); err != nil {
		t.Fatal(err)
	}
	if sp == nil || sp.BlockSize != st.Frsize || sp.FreeBytes <= 0 {
		t.Fatalf("space %+v, statfs frsize %d bavail %d", sp, st.Frsize, st.Bavail)
	}
	// Other writers change the figures between the two calls: a margin.
	if want := int64(st.Bavail) * st.Frsize; sp.FreeBytes < want-(64<<20) || sp.FreeBytes > want+(64<<20) {
		t.Errorf("free bytes %d, statfs says %d", sp.FreeBytes, want)
	}
}

func TestSpaceOf(t *testing.T) {
	sp := spaceOf(&unix.Statfs_t{Bsize: 4096, Frsize: 1024, Bavail: 10, Files: 100, Ffree: 7})
	if sp.BlockSize != 1024 || sp.FreeBytes != 10240 || sp.FreeInodes != 7 {
		t.Errorf("%+v: blocks count in f_frsize units", sp)
	}
	if sp := spaceOf(&unix.Statfs_t{Bsize: 4096, Bavail: 3, Files: 0, Ffree: 0}); sp.FreeInodes != -1 || sp.FreeBytes != 3*4096 {
		t.Errorf("%+v: a filesystem that counts no inodes has them unknown (-1), and f_bsize stands in for f_frsize", sp)
	}
	if sp := spaceOf(&unix.Statfs_t{Frsize: 1 << 20, Bavail: 1 << 62, Files: 1}); sp.FreeBytes <= 0 {
		t.Errorf("%+v: overflow", sp)
	}
}
