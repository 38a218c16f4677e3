package lock

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// AnnotationHolderProcess identifies the process that holds a Lease on its
// machine: "<pid>/<start>/<machine>", where start is the process start time
// (so a reused PID is told apart) and machine names the kernel boot and PID
// namespace the PID belongs to (so only a process that can see that PID
// judges it).
const AnnotationHolderProcess = "tracebloc.io/holder-process"

// machine is what this process can learn about local processes. Tests replace
// it; the real one reads /proc where there is one.
type machine struct {
	// who is "user@host", as Holder begins.
	who string
	// id names the kernel boot and PID namespace of our PIDs; empty where
	// the system does not tell, and then no holder is judged.
	id  string
	pid int
	// start returns the start time of pid (empty when unknown) and whether
	// a process with that PID runs at all.
	start func(pid int) (start string, running bool)
}

// localMachine describes this process; who is filled from the holder
// identity the caller acquires with.
func localMachine() machine {
	return machine{id: machineID(), pid: os.Getpid(), start: processStart}
}

// stamp is the value of AnnotationHolderProcess for this process.
func (m machine) stamp() string {
	start, _ := m.start(m.pid)
	return fmt.Sprintf("%d/%s/%s", m.pid, start, m.id)
}

// holderGone reports whether the holder of l is a process of this machine
// that no longer runs, and why. Only a Lease stamped by a process of this
// very machine and PID namespace is judged; any other holder is left to
// expire.
func (m machine) holderGone(l leaseView) (bool, string) {
	who, pid, ok := parseHolder(l.holder)
	if !ok || m.id == "" || m.who == "" || who != m.who {
		return false, ""
	}
	parts := strings.SplitN(l.process, "/", 3)
	if len(parts) != 3 || parts[0] != strconv.Itoa(pid) || parts[2] != m.id {
		return false, ""
	}
	recorded := parts[1]
	if pid == m.pid {
		return true, fmt.Sprintf("its process %d on this machine has ended (that PID is this push now)", pid)
	}
	start, running := m.start(pid)
	switch {
	case !running:
		return true, fmt.Sprintf("its process %d on this machine has ended", pid)
	case recorded != "" && start != "" && start != recorded:
		return true, fmt.Sprintf("its process %d on this machine has ended (the PID now belongs to another process)", pid)
	}
	return false, ""
}

// leaseView is what holderGone reads of a Lease.
type leaseView struct{ holder, process string }

// parseHolder reads "user@host" and the PID out of an identity made by
// Holder.
func parseHolder(h string) (who string, pid int, ok bool) {
	sp := strings.LastIndex(h, " pid ")
	if sp < 0 || !strings.Contains(h[:sp], "@") {
		return "", 0, false
	}
	who = h[:sp]
	num := h[sp+len(" pid "):]
	if end := strings.IndexByte(num, ' '); end >= 0 {
		num = num[:end]
	}
	pid, err := strconv.Atoi(num)
	if err != nil || pid <= 0 {
		return "", 0, false
	}
	return who, pid, true
}

// statStart reads the start time (field 22, clock ticks since boot) and
// whether the process still runs (field 3, the state: a zombie has ended,
// only its parent has not reaped it yet) out of the text of /proc/<pid>/stat.
// The command name (field 2) may hold spaces and parentheses, so fields are
// counted from its last ')'.
func statStart(stat string) (start string, running, ok bool) {
	end := strings.LastIndexByte(stat, ')')
	if end < 0 {
		return "", false, false
	}
	fields := strings.Fields(stat[end+1:])
	// fields[0] is field 3 (state).
	if len(fields) < 20 {
		return "", false, false
	}
	return fields[19], fields[0] != "Z" && fields[0] != "X", true
}
