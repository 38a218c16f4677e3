//go:build linux

package agent

import (
	"errors"
	"io"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
)

// ingestLock reports the ingestor's lock file of table without following a
// link and without opening anything but a regular file: whoever can write
// the volume can put a link or a FIFO at that path. It reads at most
// proto.MaxIngestLock bytes and changes nothing.
func ingestLock(e *env, table string) error {
	if !proto.ValidTable(table) {
		return failf(proto.KindUsage, "unsafe table name %q", table)
	}
	root, err := openRoot(e.root)
	if err != nil {
		return err
	}
	defer root.close()
	lk := &proto.IngestLock{}
	report := func() error {
		lk.Now = time.Now().Unix()
		e.send(proto.Message{T: proto.MsgIngestLock, IngestLock: lk})
		return nil
	}
	name := proto.IngestLockName(table)
	// openFile opens with O_NOFOLLOW|O_NONBLOCK (a FIFO cannot hang it) and
	// refuses what is not a regular file by the type of what it opened.
	f, st, err := root.openFile(name)
	var ue *unsafeError
	switch {
	case errors.Is(err, unix.ENOENT):
		return report()
	case errors.As(err, &ue):
		lk.Present, lk.NotFile = true, ue.what
		return report()
	case err != nil:
		// Open fails on a socket (ENXIO) or a file this uid may not read
		// (EACCES): what is there is still reported, never the raw error.
		st, serr := root.stat(name)
		switch {
		case serr != nil:
			return err
		case !isFile(st):
			lk.Present, lk.NotFile = true, kindOf(st)+", not a regular file"
		case errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM):
			// The ingestor's rule for a lock it cannot read judges it by
			// its modification time.
			lk.Present, lk.Mtime = true, st.Mtim.Sec
		default:
			return err
		}
		return report()
	}
	defer f.Close()
	buf, err := io.ReadAll(io.LimitReader(f, proto.MaxIngestLock+1))
	if err != nil {
		return err
	}
	if len(buf) > proto.MaxIngestLock {
		buf, lk.TooLarge = buf[:proto.MaxIngestLock], true
	}
	lk.Present, lk.Content, lk.Mtime = true, string(buf), st.Mtim.Sec
	return report()
}
