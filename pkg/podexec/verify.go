package podexec

import (
	"context"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// StagedCopy is what the agent reports of a table's staged copy.
type StagedCopy struct {
	// Staged: the table has a staged copy. Without one the rest is empty.
	Staged bool
	// Files are its regular files by path; an empty sum is a file the
	// agent could not read.
	Files map[string]proto.VerifyFile
	// Hashed counts the files the agent read to hash them (the others'
	// hashes came from the manifest of the copy).
	Hashed int
	// Odd are entries that are not regular files, OddCount all of them.
	Odd      []proto.VerifyOdd
	OddCount int
}

// Verify asks the agent for every file of table's staged copy with its
// size and SHA-256; deep makes it read every file instead of trusting the
// manifest for the unchanged ones. The agent writes nothing.
func (a *RemoteAgent) Verify(ctx context.Context, table string, deep bool) (StagedCopy, error) {
	args := []string{proto.CmdVerify, "--table", table}
	if deep {
		args = append(args, "--deep")
	}
	c := StagedCopy{Files: map[string]proto.VerifyFile{}}
	var done *proto.Verify
	err := a.Run(ctx, args, nil, func(m proto.Message) {
		switch {
		case m.Verify == nil:
		case m.T == proto.MsgVerifyFiles:
			for _, f := range m.Verify.Files {
				c.Files[f.Path] = f
			}
		case m.T == proto.MsgVerifyDone:
			done = m.Verify
		}
	}, nil)
	where := proto.SharedMount + "/" + proto.StagingDir + "/" + table
	if err != nil {
		return StagedCopy{}, exitcode.Errorf(exitcode.Staging, "reading %s: %v", where, err)
	}
	if done == nil {
		return StagedCopy{}, exitcode.Errorf(exitcode.Staging, "reading %s: the stage agent gave no answer", where)
	}
	if done.Count != len(c.Files) {
		return StagedCopy{}, exitcode.Errorf(exitcode.Staging, "reading %s: the stage agent counted %d files but listed %d", where, done.Count, len(c.Files))
	}
	c.Staged, c.Hashed, c.Odd, c.OddCount = done.Staged, done.Hashed, done.Odd, done.OddCount
	return c, nil
}
