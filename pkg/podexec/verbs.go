package podexec

import (
	"context"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// The agent's verbs other than a stage round (which pkg/transfer drives):
// callers name what they want and never spell the protocol.

// SharedMount is where the stage Pod mounts the shared volume: the agent's
// fact, for the plugin's packages that name it (spec.StagingRoot is the
// folder on it that holds every staged table).
const SharedMount = proto.SharedMount

// ValidTable reports whether the agent accepts t as a table name.
func ValidTable(t string) bool { return proto.ValidTable(t) }

// Listing is what the agent finds in the staging folder.
type Listing struct {
	// Tables are the staged copies.
	Tables []proto.Table
	// Leftovers are the names of temporary folders (.partial-<table>,
	// .old-<table>-<suffix>) in the staging folder.
	Leftovers []string
}

// List asks the agent for the staged tables and the staging leftovers.
func (a *RemoteAgent) List(ctx context.Context) (Listing, error) {
	var listing proto.Message
	err := a.Run(ctx, []string{proto.CmdList}, nil, func(m proto.Message) {
		if m.T == proto.MsgList {
			listing = m
		}
	}, nil)
	if err != nil {
		return Listing{}, exitcode.Errorf(exitcode.Staging, "reading %s/%s: %v", proto.SharedMount, proto.StagingDir, err)
	}
	if listing.T != proto.MsgList {
		return Listing{}, exitcode.Errorf(exitcode.Staging, "reading %s/%s: the stage agent gave no listing", proto.SharedMount, proto.StagingDir)
	}
	return Listing{Tables: listing.Tables, Leftovers: listing.Leftovers}, nil
}

// Remove asks the agent to remove folders from the staging folder: the
// named temporary folders, or with staged the staged copy of the named table
// and its manifest. It returns the agent's notes of what it did beyond that.
func (a *RemoteAgent) Remove(ctx context.Context, staged bool, names ...string) (notes []string, err error) {
	args := []string{proto.CmdRemove}
	if staged {
		args = append(args, "--staged")
	}
	err = a.Run(ctx, append(args, names...), nil, func(m proto.Message) {
		if m.T == proto.MsgRemoved {
			notes = m.Notes
		}
	}, nil)
	return notes, err
}
