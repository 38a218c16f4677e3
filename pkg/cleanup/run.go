package cleanup

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
	"github.com/tracebloc/kubectl-tracebloc/pkg/cluster"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/lock"
	"github.com/tracebloc/kubectl-tracebloc/pkg/podexec"
	"github.com/tracebloc/kubectl-tracebloc/pkg/stage"
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
	// Note prints a progress note, Warn a warning.
	Note func(format string, args ...any)
	Warn func(format string, args ...any)
	// NewRunner replaces pods/exec (tests).
	NewRunner func(pod string) podexec.Runner
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
	err = stage.WithHelperPod(ctx, stage.HelperOptions{Client: o.Client, Config: o.Config, Namespace: o.Namespace, PVC: vol.Name,
		ReadWriteOnce: vol.ReadWriteOnce(), Image: o.Image, Timeout: o.PodRunningTimeout, CleanupTimeout: o.CleanupTimeout,
		Version: o.Version, Purpose: "look at the staging folder", Note: o.Note, Warn: o.Warn, NewRunner: o.NewRunner},
		func(pod string, agent *podexec.Agent) error {
			listing, err := List(ctx, agent)
			if err != nil {
				return err
			}
			items = append(items, Folders(listing.Leftovers, live)...)
			r.Found = append([]Item{}, dropSelf(items, pod)...)
			if len(r.Found) == 0 || o.DryRun {
				return nil
			}
			return remove(ctx, o, agent, r.Found)
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

// List asks the agent for the staged tables and the staging leftovers.
func List(ctx context.Context, agent *podexec.Agent) (proto.Message, error) {
	var listing proto.Message
	err := agent.Run(ctx, []string{proto.CmdList}, nil, func(m proto.Message) {
		if m.T == proto.MsgList {
			listing = m
		}
	}, nil)
	if err != nil {
		return listing, exitcode.Errorf(exitcode.Staging, "reading %s/%s: %v", proto.SharedMount, proto.StagingDir, err)
	}
	if listing.T != proto.MsgList {
		return listing, exitcode.Errorf(exitcode.Staging, "reading %s/%s: the stage agent gave no listing", proto.SharedMount, proto.StagingDir)
	}
	return listing, nil
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

func remove(ctx context.Context, o Options, agent *podexec.Agent, items []Item) error {
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
			folders = append(folders, folderName(i.Name))
		}
		if err != nil {
			return fmt.Errorf("removing %s %s: %w", strings.ToLower(i.Kind), i.Name, err)
		}
		if kept {
			o.Note("released lease %s (kept: it records the staged copy of table %s)", i.Name, i.Table)
			continue
		}
		if i.Kind != "Folder" {
			o.Note("removed %s %s", strings.ToLower(i.Kind), i.Name)
		}
	}
	if len(folders) == 0 {
		return nil
	}
	var notes []string
	err := agent.Run(ctx, append([]string{proto.CmdRemove}, folders...), nil, func(m proto.Message) {
		if m.T == proto.MsgRemoved {
			notes = m.Notes
		}
	}, nil)
	if err != nil {
		return exitcode.Errorf(exitcode.Staging, "removing staging folders: %v", err)
	}
	for _, n := range notes {
		o.Note("%s", n)
	}
	for _, f := range folders {
		o.Note("removed folder %s/%s/%s", proto.SharedMount, proto.StagingDir, f)
	}
	return nil
}

// folderName is the name of a leftover folder inside the staging folder.
func folderName(path string) string {
	return path[strings.LastIndexByte(path, '/')+1:]
}
