package push

import (
	"os"
	"runtime/debug"
	"runtime/metrics"

	"github.com/tracebloc/kubectl-tracebloc/pkg/transfer/codec"
)

// The plugin's memory on a big dataset (issue 23): once the pre-flight has
// listed the files, its working set is garbage, and what stays for the
// rest of the push is the file list and a record of each file's hash
// (transfer.Local). The collector's usual headroom (twice what is live)
// would take a million files' records well past the 256 MiB a push of
// them may use.

// pushMemoryFloor is the least soft memory limit a push of many files
// runs under. A first push of a million texts keeps 167 MiB live while it
// streams (the file list 89, the hash records 53, the stream's codec and
// buffers): under this limit the heap's goal is 183 MiB and the collector
// runs every second or two (1 % of the CPU), where GOGC=40 alone would let
// the heap reach 235 MiB. The process's RSS is some 50 MiB above the
// limit (its code and data, which the runtime does not count).
const pushMemoryFloor = 208 << 20

// recordBytes is what the push keeps of each file beyond the pre-flight's
// list: its hash record (56 bytes) and its place in the lists of files
// sent and hashed as they went.
const recordBytes = 64

// memoryLimitEnv is the runtime's own setting: a user who sets it keeps it.
const memoryLimitEnv = "GOMEMLIMIT"

// settleMemory readies the process for staging files files: past
// codec.ManyFiles it gives the pre-flight's garbage back to the system at
// once (the push may run for minutes) and, unless GOMEMLIMIT is set, sets
// a soft memory limit the collector works harder under before the process
// grows past it. restore puts the limit back.
func settleMemory(files int) (restore func()) {
	if files <= codec.ManyFiles {
		return func() {}
	}
	debug.FreeOSMemory()
	if os.Getenv(memoryLimitEnv) != "" {
		return func() {}
	}
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(live)
	old := debug.SetMemoryLimit(memoryLimit(int64(live[0].Value.Uint64()), files))
	return func() { debug.SetMemoryLimit(old) }
}

// memoryLimit is the soft limit of a push of files files whose heap holds
// live bytes before staging: room for the records still to come and 30 %
// more for the collector, at least pushMemoryFloor. A limit below what
// stays live would have the collector run without end.
func memoryLimit(live int64, files int) int64 {
	return max(pushMemoryFloor, (live+recordBytes*int64(files))*13/10)
}
