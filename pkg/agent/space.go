//go:build linux

package agent

import (
	"errors"
	"math"

	"golang.org/x/sys/unix"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
)

// volumeSpace reports the free bytes and inodes of the filesystem d is on,
// so that the plugin can refuse a push that cannot fit before it sends a
// byte. Nil when statfs fails: the push then goes ahead, as before.
func volumeSpace(d *dir) *proto.Space {
	var st unix.Statfs_t
	for {
		err := unix.Fstatfs(d.fd, &st)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EINTR) {
			return nil
		}
	}
	return spaceOf(&st)
}

// spaceOf reads a statfs result. Block counts are in fragment-size units
// where the filesystem gives one (f_frsize), else in f_bsize.
func spaceOf(st *unix.Statfs_t) *proto.Space {
	block := int64(st.Frsize)
	if block <= 0 {
		block = int64(st.Bsize)
	}
	if block <= 0 {
		return nil
	}
	sp := &proto.Space{BlockSize: block, FreeInodes: -1}
	if free := uint64(st.Bavail); free > math.MaxInt64/uint64(block) {
		sp.FreeBytes = math.MaxInt64
	} else {
		sp.FreeBytes = int64(free) * block
	}
	// A filesystem that hands out inodes as it needs them says 0 of 0.
	if st.Files > 0 {
		sp.FreeInodes = int64(min(uint64(st.Ffree), math.MaxInt64))
	}
	return sp
}
