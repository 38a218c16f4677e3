// Package transfer streams a dataset to the stage agent in the stage Pod as
// tar over exec; the agent verifies it by SHA-256 and swaps it into place.
package transfer

import (
	"context"
	"errors"
	"os"
	"runtime/debug"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
	"github.com/tracebloc/kubectl-tracebloc/pkg/datafile"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/podexec"
	"github.com/tracebloc/kubectl-tracebloc/pkg/transfer/codec"
)

// Options describe one staging run.
type Options struct {
	Root  string
	Files []datafile.File
	// Local holds the hash and identity of the local files hashed before
	// the stream (NewLocal: none). Files the volume holds under the same
	// name are hashed before the plan; the others as they are sent.
	Local *Local
	Table string
	// Agent is the stage agent in the stage Pod.
	Agent *podexec.RemoteAgent
	// Nonce identifies this push on the volume (the partial copy's owner).
	Nonce string
	// BeforeSwap runs once the agent has verified the new copy and before it
	// may swap it in; an error leaves the staged copy as it is (the push has
	// lost its lock, say).
	BeforeSwap func(ctx context.Context) error
	// OnPlan is called once the first plan is known, with the bytes to send.
	OnPlan func(Plan)
	// Progress is called with each chunk of file data sent.
	Progress func(n int64)
	// Compress is auto (decide from a sample of the data), always or never.
	Compress string
	// StallTimeout ends a stream that has sent nothing for this long, so a
	// dead connection never hangs the push; zero means DefaultStallTimeout.
	StallTimeout time.Duration
	// Seals are the staged copies' seals this user's pushes recorded: a
	// push of an unchanged dataset whose staged copy carries one keeps that
	// copy in place (nil: never).
	Seals *Seals
	// BWLimit caps the stream at this many bytes a second, as they go onto
	// the connection (after compression); zero means no cap.
	BWLimit int64
	// Unchanged (CheckUnchanged) asks the agent to confirm the sealed
	// copy instead of listing it, and then to keep it without a list of
	// files; Local may then hold nothing. When the agent does not confirm
	// it, Fallback runs first (it gives Local the hash cache), then the
	// push plans from the listed files as without it.
	Unchanged *Unchanged
	Fallback  func()
	// Start is when the push began: the seal of the copy it swaps in is
	// recorded with the digest of its local files unless one changed
	// within racyWindow of it (zero: never).
	Start time.Time
}

// DrainTimeout bounds how long an interrupted stream may take to deliver
// what is already in flight.
const DrainTimeout = 10 * time.Second

// DefaultStallTimeout is how long a stream may send nothing before it counts
// as broken.
const DefaultStallTimeout = 60 * time.Second

// StreamError is a broken exec stream: the connection, the apiserver or the
// Pod went away, or nothing moved for too long. What was sent stays in the
// partial copy, so a retry resumes.
type StreamError struct{ Err error }

func (e *StreamError) Error() string { return "the stream to the stage pod broke: " + e.Err.Error() }

func (e *StreamError) Unwrap() error { return e.Err }

// Result is what landed.
type Result struct {
	Files     int   `json:"files"`
	SentFiles int   `json:"sent_files"`
	SentBytes int64 `json:"sent_bytes"`
	Reused    int   `json:"reused_files"`
	Resumed   int   `json:"resumed_files"`
	// ResumedBytes are bytes of files cut mid-stream by an earlier attempt
	// that the volume held already and were not sent again.
	ResumedBytes int64 `json:"resumed_bytes"`
	// ChunkBytes are bytes of changed big files copied from the chunks of
	// the staged copy that hold the same content, not sent.
	ChunkBytes int64 `json:"chunk_reused_bytes"`
	Verified   int   `json:"verified_files"`
	Rounds     int   `json:"rounds"`
	// Compressed says the stream was compressed; WireBytes is what went
	// onto the connection (plan, tar headers and data, after compression).
	Compressed bool  `json:"compressed"`
	WireBytes  int64 `json:"wire_bytes"`
	// Codecs: how many bytes of the stream (tar headers and padding
	// included, before compression) each codec carried ("zstd",
	// "zstd-better", "s2", "none" for chunks that did not shrink), chosen
	// chunk by chunk; together they can exceed SentBytes.
	Codecs map[string]int64 `json:"codecs,omitempty"`
	// HashedFiles counts the local files read to hash them before the
	// stream (not those hashed as they were sent); CachedHashes the files
	// whose hash came from the hash cache instead, unread.
	HashedFiles  int `json:"hashed_files"`
	CachedHashes int `json:"cached_hashes"`
	// AgentPeakBytes is the stage agent's peak resident memory in the
	// round that swapped (0: not reported).
	AgentPeakBytes int64 `json:"agent_peak_bytes,omitempty"`
	// Kept: nothing had changed, and the agent kept the staged copy in
	// place after checking it against its manifest instead of building a
	// new copy.
	Kept bool `json:"kept_in_place,omitempty"`
}

// maxRounds bounds the re-sends after a verification mismatch.
const maxRounds = 2

// Sync learns what the volume holds, streams what is missing, has the agent
// verify every file and swap the new copy in. Each round is one exec: the
// agent prints its inventory, the client answers with the stream.
func Sync(ctx context.Context, o Options) (*Result, error) {
	res := &Result{Files: len(o.Files)}
	if len(o.Files) > codec.ManyFiles && os.Getenv("GOGC") == "" {
		// The records of many files stay live for the whole push: with
		// the collector's usual headroom (twice what is live) the heap
		// took 110 MiB for 100 000 files; at 1.4 times it stays near 95
		// (0.3-0.5 s more of the collector's CPU).
		defer debug.SetGCPercent(debug.SetGCPercent(40))
	}
	planOf := func(inv proto.Message, vol Inventory) (Plan, error) {
		if inv.Ingested {
			return Plan{}, exitcode.Errorf(exitcode.TableExists,
				"table %s already holds ingested data (%s/%s is not empty) and the ingestor never ingests into an existing table: push under another --table name", o.Table, proto.SharedMount, o.Table)
		}
		if o.Unchanged != nil && inv.Sealed > 0 {
			if inv.Sealed != len(o.Files) || inv.Seal != o.Unchanged.seal {
				return Plan{}, exitcode.Errorf(exitcode.Staging, "the stage agent confirmed a staged copy of %d files this push did not ask for (%d files): push again", inv.Sealed, len(o.Files))
			}
			plan := Plan{Keep: inv.Seal, sealed: len(o.Files), files: o.Files, local: o.Local}
			res.Reused = plan.ReusedFiles()
			if o.OnPlan != nil {
				o.OnPlan(plan)
			}
			return plan, nil
		}
		if o.Unchanged != nil && o.Fallback != nil {
			o.Fallback()
		}
		// Only files the volume holds under the same name need a hash
		// before the stream; the others are hashed as they are sent.
		onVolume := func(rel string) bool {
			_, staged := vol.Staged.get(rel)
			_, partial := vol.Partial.get(rel)
			return staged || partial
		}
		if err := o.Local.hashWhere(o.Root, onVolume); err != nil {
			return Plan{}, exitcode.Wrap(exitcode.Local, err)
		}
		plan := MakePlan(o.Files, o.Local, vol)
		if err := plan.resumeCut(o.Root, inv.Cut); err != nil {
			return Plan{}, err
		}
		if err := plan.planRecipes(o.Root, inv.Chunks, ChunkMin()); err != nil {
			return Plan{}, err
		}
		if err := checkRoom(plan, inv, o.Table); err != nil {
			return Plan{}, err
		}
		if plan.keepable(vol.Staged.count()) && o.Seals.Known(o.Table, inv.Seal) {
			plan.Keep = inv.Seal
		}
		res.Reused, res.Resumed = plan.ReusedFiles(), plan.Resumed
		if o.OnPlan != nil {
			o.OnPlan(plan)
		}
		return plan, nil
	}
	for round := 1; ; round++ {
		res.Rounds = round
		out, err := runRound(ctx, o, round > 1, planOf)
		if out.plan == nil {
			if err == nil {
				err = exitcode.Errorf(exitcode.Staging, "the stage agent ended without reporting what the volume holds: push again")
			}
			return nil, stagingError("reading the staged copy", err)
		}
		res.SentFiles += len(out.plan.Send)
		res.SentBytes += out.plan.SendBytes
		res.ResumedBytes += out.plan.ResumeBytes
		res.ChunkBytes += out.plan.ChunkBytes
		res.WireBytes += out.wire
		res.Compressed = res.Compressed || out.compressed
		for c, n := range out.codecs {
			if res.Codecs == nil {
				res.Codecs = map[string]int64{}
			}
			res.Codecs[c] += n
		}
		if err == nil {
			if !out.swapped {
				return nil, exitcode.Errorf(exitcode.Staging, "the stage pod ended without confirming the swap: the staged copy may be old or new, push again")
			}
			res.Verified = out.verified
			res.AgentPeakBytes = out.agentPeak
			res.Kept = out.kept
			// A seal recorded only once the swap is confirmed: the copy
			// behind it is the one this push verified.
			_ = o.Seals.record(o.Table, out.seal, filesOf(o, out))
			res.HashedFiles, res.CachedHashes = o.Local.Counts()
			return res, nil
		}
		var ae *podexec.AgentError
		if !errors.As(err, &ae) || ae.Kind != proto.KindMismatch || round == maxRounds || out.actual == nil {
			return nil, stagingError("staging", err)
		}
		next := replan(o.Files, o.Local, out.actual)
		planOf = func(proto.Message, Inventory) (Plan, error) { return next, nil }
	}
}

// filesOf is the digest of the local files whose content the copy that
// out swapped in (or kept) holds, nil when none can vouch for them.
func filesOf(o Options, out outcome) *digest {
	if out.plan.sealed > 0 && out.kept {
		return &o.Unchanged.files
	}
	if d, ok := localDigest(o.Files, o.Local, o.Start); ok {
		return &d
	}
	return nil
}

// stagingError gives every failure of a round its exit code.
func stagingError(doing string, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	var coded *exitcode.Error
	if errors.As(err, &coded) {
		return err
	}
	var ae *podexec.AgentError
	if errors.As(err, &ae) {
		switch ae.Kind {
		case proto.KindMismatch:
			return exitcode.Errorf(exitcode.Staging, "%s: files on the volume still differ from yours after %d rounds: the stream or the volume corrupts data; the previous staged copy is untouched", doing, maxRounds)
		case proto.KindInterrupted:
			return context.Canceled
		}
		return exitcode.Errorf(exitcode.Staging, "%s: %s", doing, ae.Msg)
	}
	var de *podexec.DeliveryError
	if errors.As(err, &de) {
		return exitcode.Wrap(exitcode.Staging, err)
	}
	// No word from the agent: the connection broke, the Pod was deleted or
	// the agent killed. A retry may succeed.
	return exitcode.Wrap(exitcode.Staging, &StreamError{Err: err})
}
