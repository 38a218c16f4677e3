//go:build linux

// Package agent is the stage agent: the program the plugin delivers into the
// stage Pod. It reads what the shared volume holds for a table, receives the
// tar stream, hashes every file as it lands, verifies the new copy against
// the plan and swaps it in by rename. It never follows a link and never
// writes outside .tracebloc-staging/<table> and the files that belong to it.
package agent

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"runtime/debug"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
)

// failure is an error with its kind: it ends the agent with the kind's code.
type failure struct {
	kind proto.Kind
	msg  string
}

func (f *failure) Error() string { return f.msg }

func failf(kind proto.Kind, format string, args ...any) error {
	return &failure{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// stageMemoryTarget is the heap a stage run keeps under while it can (a
// soft limit: the collector runs more often near it).
const stageMemoryTarget = 384 << 20

// env is one run of the agent.
type env struct {
	in     *bufio.Reader
	stderr io.Writer
	out    *json.Encoder
	// raw is stdout itself, for messages written a file at a time.
	raw  io.Writer
	root string // the shared volume's mount point
	// workers hash files in parallel.
	workers int
}

func (e *env) send(m proto.Message) {
	// A broken stdout means the plugin is gone; the exit code still tells.
	_ = e.out.Encode(m)
}

// Main runs the agent with args (without the program name) and returns its
// exit code. It prints JSON messages on stdout, one per line; a failure is a
// last "error" message, after which stdin is drained so that the plugin,
// which ends the stream when it reads that message, is never left writing
// into a pipe nobody reads.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{in: bufio.NewReaderSize(stdin, 256<<10), stderr: stderr, out: json.NewEncoder(stdout), raw: stdout, workers: runtime.GOMAXPROCS(0)}
	err := dispatch(e, args, stderr)
	if err == nil {
		return 0
	}
	var f *failure
	if !errors.As(err, &f) {
		f = classify(err)
	}
	e.send(proto.Message{T: proto.MsgError, Kind: f.kind, Msg: f.msg})
	_, _ = io.Copy(io.Discard, e.in)
	return f.kind.Code()
}

// classify names the kind of an error the agent did not expect.
func classify(err error) *failure {
	switch {
	case errors.Is(err, errUnsafe):
		return &failure{kind: proto.KindUnsafe, msg: err.Error() + ": the push does not follow or overwrite what it did not create; remove it (kubectl tracebloc cleanup lists staging leftovers) and push again"}
	case errors.Is(err, unix.ENOSPC), errors.Is(err, unix.EDQUOT):
		return &failure{kind: proto.KindNoSpace, msg: "no space left on device: the shared volume is full; free space on client-pvc or grow it, then push again"}
	case errors.Is(err, fs.ErrPermission), errors.Is(err, unix.EROFS):
		return &failure{kind: proto.KindNoAccess, msg: err.Error()}
	}
	return &failure{kind: proto.KindIO, msg: err.Error()}
}

func dispatch(e *env, args []string, stderr io.Writer) error {
	if len(args) == 0 {
		return failf(proto.KindUsage, "usage: agent probe|stage|list|remove|ingest-lock|verify")
	}
	fset := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.StringVar(&e.root, "root", proto.SharedMount, "mount point of the shared volume")
	table := fset.String("table", "", "table to stage")
	nonce := fset.String("nonce", "", "identity of the push")
	resend := fset.Bool("resend", false, "skip the inventory: the plugin has the plan")
	selfSum := fset.String("sha256", "", "expected SHA-256 of this program")
	staged := fset.Bool("staged", false, "remove: also staged copies")
	deep := fset.Bool("deep", false, "verify: hash every staged file, trust no manifest")
	chunkMin := fset.Int64("chunk-min", 0, "stage: cut staged files of at least this many bytes into chunks for recipes (0: none)")
	var known knownSums
	fset.Var(&known, "known", "stage: <sha256><path> of a local file the push knows unchanged; a staged file of that name and hash is not cut into chunks (repeated)")
	sealed := fset.String("sealed", "", "stage: the seal of the staged copy the push recorded for an unchanged dataset; the inventory confirms that copy by a stat walk against its manifest instead of listing its files")
	sealedFiles := fset.Int("sealed-files", 0, "stage: with --sealed, the count of files of the push's dataset; a copy of another count is not confirmed")
	lockPath := fset.String("lock", DefaultLockPath, "lock file that keeps one agent at work per Pod")
	if err := fset.Parse(args[1:]); err != nil {
		return failf(proto.KindUsage, "%v", err)
	}
	if args[0] == proto.CmdStage || args[0] == proto.CmdRemove {
		release, err := exclusive(*lockPath)
		if err != nil {
			return err
		}
		defer release()
	}
	switch args[0] {
	case proto.CmdProbe:
		return probe(e, *selfSum)
	case proto.CmdStage:
		if !proto.ValidTable(*table) {
			return failf(proto.KindUsage, "unsafe table name %q", *table)
		}
		if *nonce == "" || strings.ContainsAny(*nonce, "\n\x00/") || len(*nonce) > 256 {
			return failf(proto.KindUsage, "a push identity (--nonce) is required")
		}
		// The collector's usual headroom (twice what is live) would take
		// a million files' records past half the stage Pod's 1Gi; near
		// this soft bound it collects more often instead.
		debug.SetMemoryLimit(stageMemoryTarget)
		s := &stager{env: e, table: *table, nonce: *nonce, chunkMin: *chunkMin, known: known, sealed: *sealed, sealedFiles: *sealedFiles}
		return s.run(*resend)
	case proto.CmdList:
		return list(e)
	case proto.CmdRemove:
		return remove(e, fset.Args(), *staged)
	case proto.CmdIngestLock:
		return ingestLock(e, *table)
	case proto.CmdVerify:
		return verifyCopy(e, *table, *deep)
	}
	return failf(proto.KindUsage, "unknown command %q", args[0])
}

// probe reports the architecture and identity the agent runs with, after
// checking that the program arrived whole.
func probe(e *env, want string) error {
	if want != "" {
		got, err := hashPath("/proc/self/exe")
		if err != nil {
			return failf(proto.KindIO, "reading the agent back: %v", err)
		}
		if got != want {
			return failf(proto.KindStream, "the agent arrived damaged (SHA-256 %s, expected %s)", got, want)
		}
	}
	e.send(proto.Message{T: proto.MsgProbe, Arch: runtime.GOARCH, UID: os.Geteuid(), GID: os.Getegid(), Version: proto.Version})
	return nil
}
