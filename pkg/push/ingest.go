package push

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/cluster"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/ingest"
	"github.com/tracebloc/kubectl-tracebloc/pkg/lock"
	"github.com/tracebloc/kubectl-tracebloc/pkg/podexec"
	"github.com/tracebloc/kubectl-tracebloc/pkg/stagepod"
)

// preflightIngest finds what the run needs: the ingestor ServiceAccount and
// the jobs-manager with a Running pod. It fills r as far as it got.
func preflightIngest(ctx context.Context, conn *Connection, target *cluster.Target, r *Report) error {
	ing, err := cluster.FindIngestor(ctx, conn.Client, conn.Namespace, target.Release.Name)
	if err != nil {
		return err
	}
	r.Ingestor = ing
	jm, err := cluster.FindJobsManager(ctx, conn.Client, conn.Namespace, target.Release.Name)
	if err != nil {
		return err
	}
	r.JobsManager = jm
	return nil
}

// runIngest submits the run of the staged table through a port-forward to
// the jobs-manager, then follows it unless detached. The staged copy is
// removed only after a clean run.
func runIngest(ctx context.Context, o Options, conn *Connection, target *cluster.Target, r *Report) error {
	key := o.Ingest.IdempotencyKey
	if key == "" {
		key = ingest.NewKey()
	}
	kept := fmt.Sprintf("the staged copy is kept at %s for a retry", r.StagedPath)
	// The jobs-manager may have gone away while the files streamed.
	jm, err := cluster.FindJobsManager(ctx, conn.Client, conn.Namespace, target.Release.Name)
	if err != nil {
		return withNote(ctx, err, kept)
	}
	r.JobsManager = jm
	token, err := ingest.Token(ctx, conn.Client, conn.Namespace, r.Ingestor.ServiceAccount)
	if err != nil {
		return withNote(ctx, err, kept)
	}
	o.Printer.Notef("submitting the ingestion run to the jobs-manager (pod %s), correlation id %s", jm.Pod, key)
	sub, err := submit(ctx, conn, jm, token, ingest.Request{IngestConfig: r.Spec.YAML(), IdempotencyKey: key})
	if err != nil {
		return withNote(ctx, err, kept)
	}
	r.Run = &RunReport{Job: sub.JobName, Namespace: orDefault(sub.Namespace, conn.Namespace), Key: key, Replay: sub.Replay, State: ingest.StateRunning}
	if rerr := lock.RecordRun(ctx, conn.Client, conn.Namespace, o.table(), sub.JobName, key); rerr != nil {
		o.Printer.Notef("could not record the run on the table's Lease (%v); kubectl tracebloc logs %s still finds it", rerr, sub.JobName)
	}
	verb := "submitted"
	if sub.Replay {
		verb = "attached to the existing"
	}
	o.Printer.Notef("%s ingestion run: job %s in namespace %s, key %s", verb, r.Run.Job, r.Run.Namespace, key)
	return followRun(ctx, o, conn, target, r, r.Run)
}

// followRun follows a submitted run to its end (unless detached), then
// removes the staged copy of a clean run.
func followRun(ctx context.Context, o Options, conn *Connection, target *cluster.Target, r *Report, run *RunReport) error {
	r.Run = run
	kept := fmt.Sprintf("the staged copy is kept at %s for a retry", r.StagedPath)
	if o.Ingest.Detach {
		r.Status = StatusSubmitted
		o.Printer.Notef("detached: follow the run with: %s", ingest.AttachCommand(r.Run.Job, r.Run.Namespace))
		return nil
	}
	res, err := ingest.Attach(ctx, conn.Client, ingest.AttachOptions{Kept: kept, FollowOptions: ingest.FollowOptions{
		Namespace: r.Run.Namespace, Job: r.Run.Job, StartTimeout: o.Ingest.StartTimeout, OnLine: o.Printer.LogLine,
		OnNote: func(note string) { o.Printer.Notef("%s", note) },
	}})
	if ctx.Err() != nil {
		// Detached: the error says how to attach again.
		return err
	}
	if err != nil {
		return withNote(ctx, err, kept)
	}
	r.Run.State, r.Run.Summary, r.Run.Reason = res.State, res.Summary, res.Reason
	if err := res.Err(r.Run.Job); err != nil {
		return withNote(ctx, err, kept)
	}
	r.Status = StatusIngested
	if o.Ingest.KeepStaged {
		return nil
	}
	rctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := removeStaged(rctx, o, conn, target); err != nil {
		o.Printer.Warnf("the run succeeded but the staged copy at %s could not be removed: %v; the next push of %s replaces it", r.StagedPath, err, o.table())
		return nil
	}
	r.StagedRemoved = true
	return nil
}

// removeStaged deletes the staged copy of the table (and its manifest)
// through the stage agent in a helper Pod: the ingestor has copied it, and
// the volume would otherwise hold the data twice.
func removeStaged(ctx context.Context, o Options, conn *Connection, target *cluster.Target) error {
	if o.Hooks.RemoveStaged != nil {
		return o.Hooks.RemoveStaged(ctx, o.table())
	}
	return stagepod.WithHelperPod(ctx, stagepod.HelperOptions{Base: podBase(o, conn, target), Purpose: "remove the staged copy"},
		func(_ string, agent *podexec.RemoteAgent) error {
			_, err := agent.Remove(ctx, true, o.table())
			return err
		})
}

func submit(ctx context.Context, conn *Connection, jm *cluster.JobsManager, token string, req ingest.Request) (*ingest.Submission, error) {
	tunnel, err := ingest.Forward(ctx, conn.Config, conn.Client, conn.Namespace, jm.Pod, jm.Port)
	if err != nil {
		return nil, err
	}
	defer tunnel.Close()
	return ingest.Submit(ctx, nil, tunnel.URL, token, req)
}

// withNote adds what happened to the staged copy to an error, keeping its
// exit code; an interrupt stays one.
func withNote(ctx context.Context, err error, note string) error {
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return exitcode.Errorf(exitcode.Interrupted, "interrupted before the run was submitted; %s", note)
	}
	return exitcode.Errorf(exitcode.Of(err), "%w\n%s", err, note)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
