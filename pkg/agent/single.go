//go:build linux

package agent

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
)

// DefaultLockPath is where the agent of a stage Pod takes its lock: in the
// Pod's own /tmp, so it only ever meets agents of the same Pod.
const DefaultLockPath = "/tmp/tracebloc/agent.lock"

// exclusive makes this the only agent at work in the Pod. An earlier one
// (a round whose stream broke while the process lived on) is stopped first,
// so a retry never runs beside it.
func exclusive(path string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), path)
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, err
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, failf(proto.KindIO, "an earlier round of this push still runs in the stage Pod and could not be stopped: push again")
		}
		b := make([]byte, 32)
		n, _ := f.ReadAt(b, 0)
		if pid, perr := strconv.Atoi(strings.TrimSpace(string(b[:n]))); perr == nil && pid > 1 && pid != os.Getpid() {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() { _ = unix.Flock(fd, unix.LOCK_UN); f.Close() }, nil
}
