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
	utilrand "k8s.io/apimachinery/pkg/util/rand"

	"github.com/tracebloc/kubectl-tracebloc/pkg/cluster"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/lock"
	"github.com/tracebloc/kubectl-tracebloc/pkg/output"
	"github.com/tracebloc/kubectl-tracebloc/pkg/podexec"
	"github.com/tracebloc/kubectl-tracebloc/pkg/stagepod"
	"github.com/tracebloc/kubectl-tracebloc/pkg/transfer"
)

type hashed struct {
	local *transfer.Local
	err   error
}

// hashEarly starts hashing the local files while the stage Pod starts, when
// the table may already be on the volume (a re-push compares hashes). On a
// table's first push (or the first since a failed one) little or nothing is
// there to compare with: the files the volume holds by name are hashed once
// the inventory is known, and each other file as it is sent, so the
// dataset is read once. Every attempt gets the same Local: a retry after a
// broken stream keeps the hashes taken while sending and does not read the
// files that reached the volume again to plan.
func hashEarly(ds *dataset.Dataset, early bool, cache *transfer.HashCache) func() (*transfer.Local, error) {
	local := transfer.NewLocal()
	local.UseCache(cache)
	if !early {
		return func() (*transfer.Local, error) { return local, nil }
	}
	hc := make(chan hashed, 1)
	go func() {
		err := local.HashAll(ds.Root, ds.Files)
		hc <- hashed{local, err}
	}()
	return sync.OnceValues(func() (*transfer.Local, error) { h := <-hc; return h.local, h.err })
}

// stageDataset starts the stage Pod (while the files are hashed locally, if
// the table may be on the volume already), then streams, verifies and swaps. A broken stream is retried, resuming what was
// sent, on the same Pod while it runs or on a new one. Every Pod is deleted on
// every path.
func stageDataset(ctx context.Context, o Options, conn *Connection, target *cluster.Target, ds *dataset.Dataset, r *Report) (err error) {
	start := time.Now()
	holder := lock.LocalHolder("")
	held, err := lock.Acquire(ctx, conn.Client, conn.Namespace, o.Table, holder, LeaseTTL, lock.WithWarnings(o.Printer.Warnf))
	if err != nil {
		return interrupted(ctx, err)
	}
	// Hashes of files unchanged since an earlier push come from the cache;
	// what this push learns goes back into it, whatever the outcome.
	cache, note := transfer.OpenHashCache(ds.Root)
	if note != "" {
		o.Printer.Notef("%s", note)
	}
	localSums := hashEarly(ds, !held.Fresh(), cache)
	var used *transfer.Local
	defer func() {
		if used == nil {
			return
		}
		if err := cache.Save(used, start); err != nil {
			o.Printer.Notef("could not write the hash cache: %v (the next push hashes the files again)", err)
		}
	}()
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
	removeDeadPods(ctx, o, conn, holder)
	defer func() {
		var staged *lock.Staged
		if err == nil {
			staged = &lock.Staged{Files: len(ds.Files), Bytes: ds.Bytes, At: time.Now(), Task: ds.Task}
		}
		releaseLock(o, held, staged)
	}()
	var pods []string
	agents := map[string]*podexec.Agent{}
	// runs counts the staging sessions each Pod ran; idle is the Pod whose
	// one session ended cleanly, with nothing left running in it.
	runs := map[string]int{}
	idle := ""
	lockChecked := false
	defer func() {
		for _, p := range pods {
			removePod(o, conn, p, p == idle)
		}
		if err == nil {
			r.DurationSeconds = time.Since(start).Seconds()
			r.ThroughputMiBps = float64(ds.Bytes) / (1 << 20) / r.DurationSeconds
		}
	}()
	for attempt := 0; ; attempt++ {
		var res *transfer.Result
		pod := ""
		err = nil
		if len(pods) > 0 && podRunning(ctx, conn, pods[len(pods)-1]) {
			pod = pods[len(pods)-1]
		} else {
			pod, err = createPod(ctx, o, conn, target, ds, holder)
			if pod != "" {
				pods = append(pods, pod)
				r.StagePod = pod
			}
			if err == nil {
				_, err = stagepod.WaitRunning(ctx, conn.Client, conn.Namespace, pod, o.PodRunningTimeout)
			}
		}
		if err == nil && agents[pod] == nil {
			var a *podexec.Agent
			if a, err = podexec.Deliver(ctx, newRunner(o, conn, pod)); err == nil {
				agents[pod] = a
			} else {
				err = stageFailure(err)
			}
		}
		if err == nil && !lockChecked {
			// Before anything is sent: a run may be ingesting the table.
			if err = checkIngestLock(ctx, o, agents[pod], r); exitcode.Of(err) == exitcode.TableExists {
				return err
			}
			lockChecked = err == nil
		}
		if err == nil {
			local, herr := localSums()
			if herr != nil {
				return exitcode.Wrap(exitcode.Local, herr)
			}
			used = local
			runs[pod]++
			res, err = streamFiles(ctx, o, agents[pod], ds, local, holder, held.Check)
		}
		if err == nil {
			// The Lease was checked before the swap; lost in the moment
			// since, another push may have swapped too: say so rather than
			// report success.
			err = held.Check(ctx)
		}
		if err == nil {
			r.Transfer = res
			r.Verified = res.Verified == len(ds.Files)
			r.Status = StatusStaged
			if runs[pod] == 1 {
				idle = pod
			}
			return nil
		}
		if ctx.Err() == nil && cluster.IsTLS(err) {
			return cluster.TLSError(err)
		}
		if ctx.Err() != nil || !retriable(err) || attempt >= o.Retries {
			return interrupted(outer, err)
		}
		wait := RetryBackoff << attempt
		o.Printer.Warnf("%v; retrying in %s (attempt %d of %d), keeping what was sent", err, wait, attempt+2, o.Retries+1)
		select {
		case <-ctx.Done():
			return interrupted(outer, ctx.Err())
		case <-time.After(wait):
		}
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

func createPod(ctx context.Context, o Options, conn *Connection, target *cluster.Target, ds *dataset.Dataset, holder string) (string, error) {
	node := ""
	if target.Volume.ReadWriteOnce() {
		n, err := stagepod.MountingNode(ctx, conn.Client, conn.Namespace, target.Volume.Name)
		if err != nil {
			return "", err
		}
		node = n
	}
	pod := stagepod.BuildPod(stagepod.PodOptions{
		Namespace: conn.Namespace, Table: o.Table, Image: o.StageImage, PVC: target.Volume.Name,
		Suffix: utilrand.String(5), Bytes: ds.Bytes, Node: node, CreatedBy: "kubectl-tracebloc " + o.Version, Now: time.Now(),
		Holder: holder,
	})
	o.Printer.Notef("creating stage pod %s in namespace %s", pod.Name, conn.Namespace)
	if o.OnPodCreated != nil {
		o.OnPodCreated(conn.Namespace, pod.Name)
	}
	if _, err := stagepod.Create(ctx, conn.Client, pod); err != nil {
		// Cut off mid-request (Ctrl-C, a timeout), the Pod may exist all
		// the same: hand its name back so the cleanup deletes it.
		var status apierrors.APIStatus
		if ctx.Err() != nil || !errors.As(err, &status) {
			return pod.Name, err
		}
		return "", err
	}
	return pod.Name, nil
}

func newRunner(o Options, conn *Connection, pod string) podexec.Runner {
	if o.NewRunner != nil {
		return o.NewRunner(conn, pod)
	}
	return &podexec.PodExec{Client: conn.Client, Config: conn.Config, Namespace: conn.Namespace, Pod: pod, Container: stagepod.ContainerName}
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

// streamFiles runs the staging rounds; beforeSwap (the Lease check) runs
// once the agent has verified the new copy, before it may swap it in.
func streamFiles(ctx context.Context, o Options, agent *podexec.Agent, ds *dataset.Dataset, local *transfer.Local, holder string,
	beforeSwap func(context.Context) error) (*transfer.Result, error) {
	var prog output.Progress = nil
	res, err := transfer.Stage(ctx, transfer.Options{
		Root: ds.Root, Files: ds.Files, Local: local, Table: o.Table, Agent: agent, Nonce: holder,
		BeforeSwap: beforeSwap, Compress: o.Compress, BWLimit: o.BWLimit,
		OnPlan: func(p transfer.Plan) {
			if hashed, cached := local.Counts(); cached > 0 {
				o.Printer.Notef("read %d local files to hash them; %d hashes from the cache (files unchanged since an earlier push)", hashed, cached)
			}
			o.Printer.Notef("sending %d of %d files (%s); %d reused from the staged copy, %d from an interrupted push",
				len(p.Send), len(ds.Files), dataset.HumanBytes(p.SendBytes), len(p.Reuse), p.Resumed)
			if p.ResumeBytes > 0 {
				o.Printer.Notef("continuing a file the last stream broke off in: its first %s are on the volume already", dataset.HumanBytes(p.ResumeBytes))
			}
			label := "sending"
			if o.BWLimit > 0 {
				label = fmt.Sprintf("sending (capped at %s)", transfer.FormatBandwidth(o.BWLimit))
			}
			prog = o.Printer.NewProgress(label, p.SendBytes)
		},
		Progress: func(n int64) {
			if prog != nil {
				prog.Add(n)
			}
		},
	})
	if prog != nil {
		prog.Finish()
	}
	return res, err
}

// removeDeadPods deletes the stage Pods of earlier pushes of this table:
// with the table's Lease held, none of them belongs to a live push, and one
// still running could keep writing into the partial copy this push resumes.
func removeDeadPods(ctx context.Context, o Options, conn *Connection, holder string) {
	pods, err := conn.Client.CoreV1().Pods(conn.Namespace).List(ctx, metav1.ListOptions{
		LabelSelector: stagepod.Selector + "," + stagepod.LabelTable + "=" + stagepod.TableLabel(o.Table)})
	if err != nil {
		return
	}
	for _, p := range pods.Items {
		if p.Annotations[stagepod.AnnotationTable] != o.Table || p.Annotations[stagepod.AnnotationHolder] == holder {
			continue
		}
		o.Printer.Notef("deleting stage pod %s of an earlier push of %s that did not end cleanly", p.Name, o.Table)
		removePod(o, conn, p.Name, false)
	}
}

// removePod deletes the stage Pod on a fresh context, so it runs after Ctrl-C
// too. A failure is a warning with the command that finishes the job. An
// idle Pod (its one agent run ended cleanly) goes at once; any other is
// stopped in full before the push goes on, so no agent of it outlives the
// Lease.
func removePod(o Options, conn *Connection, pod string, idle bool) {
	ctx, cancel := context.WithTimeout(context.Background(), o.CleanupTimeout)
	defer cancel()
	remove := stagepod.Delete
	if idle {
		remove = stagepod.DeleteIdle
	}
	if err := remove(ctx, conn.Client, conn.Namespace, pod); err != nil {
		o.Printer.Warnf("could not delete stage pod %s: %v; delete it with: %s", pod, err, DeleteCommand(conn.Namespace, pod))
		return
	}
	o.Printer.Notef("deleted stage pod %s", pod)
}

// RetryBackoff is the wait before the first retry; it doubles each time, so
// the default three retries span an apiserver restart.
const RetryBackoff = 2 * time.Second

// LeaseTTL is how long a push's Lease outlives its last renewal.
const LeaseTTL = lock.DefaultTTL

func releaseLock(o Options, l *lock.Held, staged *lock.Staged) {
	ctx, cancel := context.WithTimeout(context.Background(), o.CleanupTimeout)
	defer cancel()
	if err := l.Release(ctx, staged); err != nil {
		o.Printer.Warnf("could not release the push Lease: %v (it expires by itself within %s)", err, LeaseTTL)
	}
}

// DeleteCommand is the kubectl command that removes a stage Pod by hand.
func DeleteCommand(namespace, pod string) string {
	return fmt.Sprintf("kubectl delete pod %s -n %s", pod, namespace)
}

// interrupted turns any error that follows a Ctrl-C into exit 130.
func interrupted(ctx context.Context, err error) error {
	if ctx.Err() == nil {
		return err
	}
	return exitcode.Errorf(exitcode.Interrupted, "interrupted: the stage pod is removed; the staged copy is wholly the previous one (or wholly the new one if the swap had begun), and data already sent is kept for the next push to resume")
}
