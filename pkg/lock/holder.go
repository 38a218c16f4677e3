package lock

import (
	"fmt"
	"os"
	"os/user"
	"time"

	utilrand "k8s.io/apimachinery/pkg/util/rand"
)

// DefaultTTL is how long a Lease outlives its last renewal: a push whose
// client died blocks its table for at most this long. Cleanup takes its
// Leases for the same time.
const DefaultTTL = 30 * time.Second

// Holder names this client for other pushes: who, where, which process. A
// Lease whose holder names this user, machine and a PID that no longer runs
// here is taken over at once.
func Holder(user, host string, pid int, nonce string) string {
	return fmt.Sprintf("%s@%s pid %d (%s)", user, host, pid, nonce)
}

// LocalHolder names this process (on this machine, with a random nonce) as
// Holder does; who is the user part, the login name when empty.
func LocalHolder(who string) string {
	if who == "" {
		who = "unknown"
		if u, err := user.Current(); err == nil {
			who = u.Username
		}
	}
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return Holder(who, host, os.Getpid(), utilrand.String(6))
}
