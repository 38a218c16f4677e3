//go:build unix

package dataset

import (
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU time the process has used so far, all its threads.
func cpuTime(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
