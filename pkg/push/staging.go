package push

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/tracebloc/kubectl-tracebloc/pkg/cluster"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/lock"
	"github.com/tracebloc/kubectl-tracebloc/pkg/output"
	"github.com/tracebloc/kubectl-tracebloc/pkg/podexec"
	"github.com/tracebloc/kubectl-tracebloc/pkg/stagepod"
	"github.com/tracebloc/kubectl-tracebloc/pkg/transfer"
)

// earlyHashes are the hashes of the local files taken while the stage Pod
// starts, and the error that stopped them; unchanged is set instead when
// the dataset is, by stat, the one the table's sealed copy holds.
type earlyHashes struct {
	local     *transfer.Local
	unchanged *transfer.Unchanged
	err       error
}

// lazyCache is the dataset's hash cache, loaded when the push first needs
// a hash: an unchanged re-push needs none.
type lazyCache struct {
	once   sync.Once
	root   string
	notef  func(format string, args ...any)
	cache  *transfer.HashCache
	opened bool
}

func (c *lazyCache) get() *transfer.HashCache {
	if c == nil {
		return nil
	}
	c.once.Do(func() {
		var note string
		c.cache, note = transfer.OpenHashCache(c.root)
		if note != "" {
			c.notef("%s", note)
		}
		c.opened = true
	})
	return c.cache
}

// hashEarly looks, while the stage Pod starts, whether every local file
// is as the push that staged the table's sealed copy left it (one stat
// each: the push then hashes nothing). Otherwise it starts hashing the
// local files, when the table may already be on the volume (a re-push
// compares hashes). On a table's first push (or the first since a failed
// one) little or nothing is there to compare with: the files the volume
// holds by name are hashed once the inventory is known, and each other
// file as it is sent, so the dataset is read once. Every attempt gets the
// same Local: a retry after a broken stream keeps the hashes taken while
// sending and does not read the files that reached the volume again to
// plan.
func hashEarly(ds *dataset.Dataset, early bool, cache *lazyCache, seals *transfer.Seals, table string) func() (*transfer.Local, *transfer.Unchanged, error) {
	hc := make(chan earlyHashes, 1)
	go func() {
		local := transfer.NewLocal(ds.Files)
		if u := transfer.CheckUnchanged(ds.Root, ds.Files, seals, table); u != nil {
			hc <- earlyHashes{local: local, unchanged: u}
			return
		}
		local.UseCache(cache.get())
		var err error
		if early {
			err = local.HashAll(ds.Root)
		}
		hc <- earlyHashes{local: local, err: err}
	}()
	got := sync.OnceValue(func() earlyHashes { return <-hc })
	return func() (*transfer.Local, *transfer.Unchanged, error) {
		h := got()
		return h.local, h.unchanged, h.err
	}
}

// stageDataset holds the table's Lease while it stages: it starts the stage
// Pod (while the files are hashed locally, if the table may be on the
// volume already), then streams, verifies and swaps. A broken stream is
// retried, resuming what was sent, on the same Pod while it runs or on a
// new one. Every Pod is deleted on every path, then the Lease released.
func stageDataset(ctx context.Context, o Options, conn *Connection, target *cluster.Target, ds *dataset.Dataset, r *Report) (err error) {
	start := time.Now()
	holder := lock.LocalHolder("")
	held, err := lock.Acquire(ctx, conn.Client, conn.Namespace, o.table(), holder, LeaseTTL, lock.WithWarnings(o.Printer.Warnf))
	if err != nil {
		return interrupted(ctx, err)
	}
	// Hashes of files unchanged since an earlier push come from the cache;
	// what this push learns goes back into it, whatever the outcome.
	cache := &lazyCache{root: ds.Root, notef: o.Printer.Notef}
	seals := transfer.OpenSeals()
	a := &attempts{o: o, conn: conn, target: target, ds: ds, r: r, holder: holder, held: held, start: start, seals: seals, cache: cache,
		localSums: hashEarly(ds, !held.Fresh(), cache, seals, o.table())}
	defer a.saveHashes()
	// Losing the Lease stops the push: another push may be staging the
	// table, and this one must neither swap nor report success.
	outer := ctx
	ctx, stopWatching := held.Context(outer)
	defer stopWatching()
	defer func() {
		if lost := held.Err(); err != nil && lost != nil && outer.Err() == nil {
			err = lost
		}
	}()
	stagepod.RemoveStale(ctx, a.podOptions())
	defer func() { releaseLock(o, held, stagedRecord(err, ds)) }()
	err = a.loop(ctx, outer)
	a.closeAll(ctx)
	if err == nil {
		r.DurationSeconds = time.Since(start).Seconds()
		r.ThroughputMiBps = float64(ds.Bytes) / (1 << 20) / r.DurationSeconds
	}
	return err
}

// stagedRecord is what the Lease keeps of a staging that succeeded; nil
// when it failed.
func stagedRecord(err error, ds *dataset.Dataset) *lock.Staged {
	if err != nil {
		return nil
	}
	return &lock.Staged{Files: len(ds.Files), Bytes: ds.Bytes, At: time.Now(), Task: ds.Task}
}

// attempts are the tries of one staging and the stage Pods they ran in: an
// attempt streams through the last Pod while it runs, else through a new
// one; closeAll deletes them all.
type attempts struct {
	o         Options
	conn      *Connection
	target    *cluster.Target
	ds        *dataset.Dataset
	r         *Report
	holder    string
	held      *lock.Held
	localSums func() (*transfer.Local, *transfer.Unchanged, error)
	// start is when the push began; seals and cache are the user's.
	start time.Time
	seals *transfer.Seals
	cache *lazyCache

	pods []*attemptPod
	// idle is the Pod whose one session ended cleanly, with nothing left
	// running in it: it may go at once.
	idle *attemptPod
	// used are the hashes a stream began with, for the cache.
	used        *transfer.Local
	lockChecked bool
}

// attemptPod is a stage Pod of the staging, its agent once delivered, and
// the sessions it ran.
type attemptPod struct {
	*stagepod.Pod
	sessions int
}

// loop runs attempts until one stages the dataset, the error is not worth
// another, or the retries are spent; the waits between them double.
func (a *attempts) loop(ctx, outer context.Context) error {
	backoff := wait.Backoff{Duration: RetryBackoff, Factor: 2, Steps: a.o.Stage.Retries}
	for attempt := 1; ; attempt++ {
		final, err := a.once(ctx)
		if err == nil || final {
			return err
		}
		if ctx.Err() == nil && cluster.IsTLS(err) {
			return cluster.TLSError(err)
		}
		if ctx.Err() != nil || !retriable(err) || backoff.Steps < 1 {
			return interrupted(outer, err)
		}
		pause := backoff.Step()
		a.o.Printer.Warnf("%v; retrying in %s (attempt %d of %d), keeping what was sent", err, pause, attempt+1, a.o.Stage.Retries+1)
		select {
		case <-ctx.Done():
			return interrupted(outer, ctx.Err())
		case <-time.After(pause):
		}
	}
}

// once is one attempt: a running Pod with the agent in it, the ingestor's
// lock checked (once, before anything is sent), then the stream, verified
// and swapped while the Lease holds. A final error ends the staging as it
// is: a table being ingested, local files that cannot be read.
func (a *attempts) once(ctx context.Context) (final bool, err error) {
	pod, err := a.next(ctx)
	if err != nil {
		return false, err
	}
	if !a.lockChecked {
		err := checkIngestLock(ctx, a.o, pod.Agent, a.r)
		if err != nil {
			return exitcode.Of(err) == exitcode.TableExists, err
		}
		a.lockChecked = true
	}
	local, unchanged, err := a.localSums()
	if err != nil {
		return true, exitcode.Wrap(exitcode.Local, err)
	}
	a.used = local
	pod.sessions++
	res, err := streamFiles(ctx, a.o, pod.Agent, a.ds, transfer.Options{Local: local, Nonce: a.holder, BeforeSwap: a.held.Check,
		Seals: a.seals, Unchanged: unchanged, Fallback: func() { local.UseCache(a.cache.get()) }, Start: a.start})
	if err == nil {
		// The Lease was checked before the swap; lost in the moment
		// since, another push may have swapped too: say so rather than
		// report success.
		err = a.held.Check(ctx)
	}
	if err != nil {
		return false, err
	}
	a.r.Transfer = res
	a.r.Verified = res.Verified == len(a.ds.Files)
	a.r.Status = StatusStaged
	if pod.sessions == 1 {
		a.idle = pod
	}
	return false, nil
}

// next is the Pod of the next attempt with the agent delivered: the last
// one while it runs, else a new one.
func (a *attempts) next(ctx context.Context) (*attemptPod, error) {
	if n := len(a.pods); n > 0 && podRunning(ctx, a.conn, a.pods[n-1].Name) {
		pod := a.pods[n-1]
		if err := pod.Deliver(ctx); err != nil {
			return nil, stageFailure(err)
		}
		return pod, nil
	}
	p, err := stagepod.Start(ctx, a.podOptions())
	if p == nil {
		return nil, err
	}
	pod := &attemptPod{Pod: p}
	a.pods = append(a.pods, pod)
	a.r.StagePod = p.Name
	if stagepod.AgentFailed(err) {
		return nil, stageFailure(err)
	}
	if err != nil {
		return nil, err
	}
	return pod, nil
}

// podOptions describe the stage Pods of the staging.
func (a *attempts) podOptions() stagepod.StartOptions {
	o, conn := a.o, a.conn
	return stagepod.StartOptions{Kind: stagepod.KindStage, Table: o.table(), Bytes: a.ds.Bytes, Holder: a.holder,
		Base: podBase(o, conn, a.target)}
}

// podBase are the options of every Pod of the push: its stage Pods and
// the helper Pod that removes the staged copy.
func podBase(o Options, conn *Connection, target *cluster.Target) stagepod.Base {
	var newRunner func(string) podexec.Runner
	if o.Hooks.NewRunner != nil {
		newRunner = func(pod string) podexec.Runner { return o.Hooks.NewRunner(conn, pod) }
	}
	return stagepod.Base{Client: conn.Client, Config: conn.Config, Namespace: conn.Namespace, PVC: target.Volume.Name,
		ReadWriteOnce: target.Volume.ReadWriteOnce(), Image: o.Stage.Image, Timeout: o.Stage.PodRunningTimeout,
		CleanupTimeout: o.Stage.CleanupTimeout, Version: o.Stage.Version, Note: o.Printer.Notef, Warn: o.Printer.Warnf,
		NewRunner: newRunner, OnCreated: o.Hooks.OnPodCreated}
}

// closeAll deletes every Pod of the staging.
func (a *attempts) closeAll(ctx context.Context) {
	for _, p := range a.pods {
		_ = p.Close(ctx, p == a.idle)
	}
}

// saveHashes writes what the push learned of the local files back into
// the cache, once a stream began with it (an unchanged re-push that
// hashed nothing leaves it as it is).
func (a *attempts) saveHashes() {
	if a.used == nil || !a.cache.opened {
		return
	}
	if err := a.cache.cache.Save(a.used, a.start); err != nil {
		a.o.Printer.Notef("could not write the hash cache: %v (the next push hashes the files again)", err)
	}
}

// retriable reports whether another attempt may succeed: the stream broke,
// the stage Pod went away while starting, or the apiserver is briefly away
// (a restart, an overloaded or unreachable control plane). A refused TLS
// certificate is not retried.
func retriable(err error) bool {
	if cluster.IsTLS(err) {
		// A refused certificate stays refused: the kubeconfig must change.
		return false
	}
	var se *transfer.StreamError
	var netErr net.Error
	return errors.As(err, &se) || errors.Is(err, stagepod.ErrPodGone) || errors.As(err, &netErr) ||
		apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) || apierrors.IsTooManyRequests(err) ||
		apierrors.IsServiceUnavailable(err) || apierrors.IsInternalError(err)
}

func podRunning(ctx context.Context, conn *Connection, pod string) bool {
	p, err := conn.Client.CoreV1().Pods(conn.Namespace).Get(ctx, pod, metav1.GetOptions{})
	return err == nil && p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning
}

// stageFailure gives a failed delivery of the agent exit 7; a broken exec
// stays retriable.
func stageFailure(err error) error {
	var de *podexec.DeliveryError
	if errors.As(err, &de) {
		return exitcode.Wrap(exitcode.Staging, err)
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return exitcode.Wrap(exitcode.Staging, &transfer.StreamError{Err: err})
}

// streamFiles runs the staging rounds with to's hashes, push identity,
// seals and BeforeSwap (the Lease check, once the agent has verified the
// new copy, before it may swap it in).
func streamFiles(ctx context.Context, o Options, agent *podexec.RemoteAgent, ds *dataset.Dataset, to transfer.Options) (*transfer.Result, error) {
	var prog output.Progress = nil
	local := to.Local
	to.Root, to.Files, to.Table, to.Agent, to.Compress, to.BWLimit = ds.Root, ds.Files, o.table(), agent, o.Stage.Compress, o.Stage.BWLimit
	to.OnPlan = func(p transfer.Plan) {
		if hashed, cached := local.Counts(); cached > 0 {
			o.Printer.Notef("read %d local files to hash them; %d hashes from the cache (files unchanged since an earlier push)", hashed, cached)
		}
		o.Printer.Notef("sending %d of %d files (%s); %d reused from the staged copy, %d from an interrupted push",
			len(p.Send), len(ds.Files), dataset.HumanBytes(p.SendBytes), p.ReusedFiles(), p.Resumed)
		if p.ResumeBytes > 0 {
			o.Printer.Notef("continuing a file the last stream broke off in: its first %s are on the volume already", dataset.HumanBytes(p.ResumeBytes))
		}
		if p.ChunkBytes > 0 {
			o.Printer.Notef("sending only the changed parts of big files: %s are copied from chunks of the staged copy with the same content", dataset.HumanBytes(p.ChunkBytes))
		}
		label := "sending"
		if o.Stage.BWLimit > 0 {
			label = fmt.Sprintf("sending (capped at %s)", transfer.FormatBandwidth(o.Stage.BWLimit))
		}
		prog = o.Printer.NewProgress(label, p.SendBytes)
	}
	to.Progress = func(n int64) {
		if prog != nil {
			prog.Add(n)
		}
	}
	res, err := transfer.Sync(ctx, to)
	if prog != nil {
		prog.Finish()
	}
	if err == nil && res.Kept {
		o.Printer.Notef("the staged copy already held every file unchanged: kept in place (checked against its manifest) instead of rebuilt")
	}
	return res, err
}

// RetryBackoff is the wait before the first retry; it doubles each time, so
// the default three retries span an apiserver restart.
const RetryBackoff = 2 * time.Second

// LeaseTTL is how long a push's Lease outlives its last renewal.
const LeaseTTL = lock.DefaultTTL

func releaseLock(o Options, l *lock.Held, staged *lock.Staged) {
	ctx, cancel := context.WithTimeout(context.Background(), o.Stage.CleanupTimeout)
	defer cancel()
	if err := l.Release(ctx, staged); err != nil {
		o.Printer.Warnf("could not release the push Lease: %v (it expires by itself within %s)", err, LeaseTTL)
	}
}

// interrupted turns any error that follows a Ctrl-C into exit 130.
func interrupted(ctx context.Context, err error) error {
	if ctx.Err() == nil {
		return err
	}
	return exitcode.Errorf(exitcode.Interrupted, "interrupted: the stage pod is removed; the staged copy is wholly the previous one (or wholly the new one if the swap had begun), and data already sent is kept for the next push to resume")
}
