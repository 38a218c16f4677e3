//go:build unix && !linux

package lock

import (
	"encoding/hex"
	"errors"
	"syscall"
)

// machineID is the boot time of the kernel: without /proc it is what tells
// this machine's PIDs from those of another machine with the same name.
func machineID() string {
	boot, err := syscall.Sysctl("kern.boottime")
	if err != nil || boot == "" {
		return ""
	}
	return "boot-" + hex.EncodeToString([]byte(boot))
}

// processStart knows whether the PID runs, not when it started.
func processStart(pid int) (string, bool) {
	return "", !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
