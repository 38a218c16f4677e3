package cleanup

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/tracebloc/kubectl-tracebloc/pkg/cluster"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/lock"
	"github.com/tracebloc/kubectl-tracebloc/pkg/spec"
	"github.com/tracebloc/kubectl-tracebloc/pkg/stage"
	"github.com/tracebloc/kubectl-tracebloc/pkg/transfer"
)

// Options describe one cleanup.
type Options struct {
	Client            kubernetes.Interface
	Config            *rest.Config
	Namespace         string
	Image             string
	DryRun            bool
	PodRunningTimeout time.Duration
	CleanupTimeout    time.Duration
	Version           string
	// Note prints a progress note.
	Note func(format string, args ...any)
}

// Report is what cleanup found and did; -o json prints it.
type Report struct {
	// Status is "clean", "found" (a dry run), "removed" or "failed".
	Status    string `json:"status"`
	Namespace string `json:"namespace"`
	Found     []Item `json:"found"`
	Removed   bool   `json:"removed"`
	Error     string `json:"error,omitempty"`
	ExitCode  int    `json:"exit_code"`
}

const helperTable = "_cleanup"

// Run finds the leftovers and, unless DryRun, removes them.
func Run(ctx context.Context, o Options) (*Report, error) {
	r := &Report{Status: "failed", Namespace: o.Namespace, Found: []Item{}}
	err := run(ctx, o, r)
	if err != nil {
		r.Error, r.ExitCode = err.Error(), exitcode.Of(err)
	}
	return r, err
}

func run(ctx context.Context, o Options, r *Report) error {
	items, live, err := FindObjects(ctx, o.Client, o.Namespace, time.Now())
	if err != nil {
		return err
	}
	vol, err := cluster.FindVolume(ctx, o.Client, o.Namespace)
	if err != nil {
		return err
	}
	err = WithHelperPod(ctx, HelperOptions{Client: o.Client, Config: o.Config, Namespace: o.Namespace, PVC: vol.Name, Image: o.Image,
		Timeout: o.PodRunningTimeout, CleanupTimeout: o.CleanupTimeout, Version: o.Version, Note: o.Note},
		func(pod string, runner transfer.Runner) error {
			var out, errOut bytes.Buffer
			if err := runner.Run(ctx, []string{"sh", "-c", `ls -A "$1" 2>/dev/null; exit 0`, "sh", spec.StagingRoot}, nil, &out, &errOut); err != nil {
				return exitcode.Errorf(exitcode.Staging, "listing %s: %v %s", spec.StagingRoot, err, errOut.String())
			}
			items = append(items, Folders(strings.Fields(out.String()), live)...)
			r.Found = append([]Item{}, dropSelf(items, pod)...)
			if len(r.Found) == 0 || o.DryRun {
				return nil
			}
			return remove(ctx, o, runner, r.Found)
		})
	if err != nil {
		return err
	}
	switch {
	case len(r.Found) == 0:
		r.Status = "clean"
	case o.DryRun:
		r.Status = "found"
	default:
		r.Status, r.Removed = "removed", true
	}
	return nil
}

func dropSelf(items []Item, self string) []Item {
	out := items[:0]
	for _, i := range items {
		if i.Kind != "Pod" || i.Name != self {
			out = append(out, i)
		}
	}
	return out
}

func remove(ctx context.Context, o Options, runner transfer.Runner, items []Item) error {
	var folders []string
	for _, i := range items {
		var err error
		kept := false
		switch i.Kind {
		case "Pod":
			err = stage.Delete(ctx, o.Client, o.Namespace, i.Name)
		case "Lease":
			kept, err = lock.Abandon(ctx, o.Client, o.Namespace, i.Name)
		case "Folder":
			folders = append(folders, i.Name)
		}
		if err != nil {
			return fmt.Errorf("removing %s %s: %w", strings.ToLower(i.Kind), i.Name, err)
		}
		if kept {
			o.Note("released lease %s (kept: it records the staged copy of table %s)", i.Name, i.Table)
			continue
		}
		o.Note("removed %s %s", strings.ToLower(i.Kind), i.Name)
	}
	if len(folders) == 0 {
		return nil
	}
	var errOut bytes.Buffer
	args := append([]string{"sh", "-c", `rm -rf -- "$@"`, "sh"}, folders...)
	if err := runner.Run(ctx, args, nil, &bytes.Buffer{}, &errOut); err != nil {
		return exitcode.Errorf(exitcode.Staging, "removing staging folders: %v %s", err, errOut.String())
	}
	return nil
}

// HelperOptions describe a short-lived Pod that mounts the shared volume.
type HelperOptions struct {
	Client         kubernetes.Interface
	Config         *rest.Config
	Namespace      string
	PVC            string
	Image          string
	Timeout        time.Duration
	CleanupTimeout time.Duration
	Version        string
	Note           func(format string, args ...any)
}

// WithHelperPod runs fn with a restricted Pod that mounts the shared volume,
// and deletes the Pod afterwards on a fresh context.
func WithHelperPod(ctx context.Context, o HelperOptions, fn func(pod string, runner transfer.Runner) error) error {
	pod := stage.BuildPod(stage.PodOptions{Namespace: o.Namespace, Table: helperTable, Image: o.Image, PVC: o.PVC,
		Suffix: utilrand.String(5), CreatedBy: "kubectl-tracebloc " + o.Version, Holder: "helper", Now: time.Now()})
	o.Note("creating helper pod %s to look at the staging folder", pod.Name)
	if _, err := stage.Create(ctx, o.Client, pod); err != nil {
		return err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), o.CleanupTimeout)
		defer cancel()
		_ = stage.Delete(dctx, o.Client, o.Namespace, pod.Name)
	}()
	if _, err := stage.WaitRunning(ctx, o.Client, o.Namespace, pod.Name, o.Timeout); err != nil {
		return err
	}
	return fn(pod.Name, &transfer.PodExec{Client: o.Client, Config: o.Config, Namespace: o.Namespace, Pod: pod.Name, Container: stage.ContainerName})
}
