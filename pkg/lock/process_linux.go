package lock

import (
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// machineID is the kernel boot and the PID namespace of this process: two
// processes see the same PIDs only when both match.
func machineID() string {
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	ns, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(boot)) + ":" + strings.Trim(strings.TrimPrefix(ns, "pid:"), "[]")
}

func processStart(pid int) (string, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err == nil {
		start, running, ok := statStart(string(b))
		if !ok {
			return "", true
		}
		return start, running
	}
	if errors.Is(err, fs.ErrNotExist) {
		return "", false
	}
	// /proc unreadable (hidepid): ask the kernel whether the PID exists.
	return "", !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
