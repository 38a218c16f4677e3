package cmd

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/output"
)

// Execute runs root with args and returns the exit code. An error is
// printed once on stderr; with -o json, a command that failed before it
// printed its object (a flag cobra could not parse, a bad argument) gets
// one here, so that stdout holds exactly one object on every path.
func Execute(ctx context.Context, root *cobra.Command, p *output.Printer, args []string) int {
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitcode.OK
	}
	code := exitcode.Of(err)
	if ctx.Err() != nil {
		// Interrupted: whatever failed next failed because of it.
		code = exitcode.Interrupted
	}
	if !p.WroteJSON() && wantsJSON(root, args) {
		_ = p.JSON(failureReport(root, args, err, code))
	}
	p.Error(err)
	return code
}

// wantsJSON tells whether args ask for -o json, read from the words
// themselves: a flag cobra failed to parse stops its parsing before the
// flags that follow it.
func wantsJSON(root *cobra.Command, args []string) bool {
	if c, _, err := root.Find(args); err == nil {
		if f := c.Flags().Lookup("output"); f != nil && f.Value.String() == string(output.JSON) {
			return true
		}
	}
	for i, a := range args {
		switch a {
		case "--":
			return false
		case "-o", "--output":
			if i+1 < len(args) && args[i+1] == string(output.JSON) {
				return true
			}
		case "-ojson", "-o=json", "--output=json":
			return true
		}
	}
	return false
}

// failureReport is the -o json object of a command that failed before it
// printed its own: the command's usual object with the error and the exit
// code, every array empty.
func failureReport(root *cobra.Command, args []string, err error, code int) any {
	c, _, ferr := root.Find(args)
	if ferr != nil || c == nil {
		c = root
	}
	name := ""
	if c != root {
		name = c.Name()
	}
	msg := err.Error()
	switch name {
	case "push":
		return pushFailure(c, msg, code)
	case "status":
		return statusFailure(msg, code)
	case "cleanup":
		return cleanupFailure(msg, code)
	case "runs":
		return runsReport{SchemaVersion: runsSchemaVersion, Runs: runsNone(), Error: msg, ExitCode: code}
	case "logs":
		return logsReport{SchemaVersion: logsSchemaVersion, ErrorLines: []string{}, Error: msg, ExitCode: code}
	case "verify":
		return verifyFailure(c, msg, code)
	case "version":
		return versionReport{SchemaVersion: versionSchemaVersion, Version: Version, Error: msg, ExitCode: code}
	}
	return errorReport{SchemaVersion: 1, Command: strings.TrimSpace(strings.TrimPrefix(c.CommandPath(), root.CommandPath())), Error: msg, ExitCode: code}
}

// errorReport is the object of a command line that names no command.
type errorReport struct {
	SchemaVersion int    `json:"schema_version"`
	Command       string `json:"command"`
	Error         string `json:"error"`
	ExitCode      int    `json:"exit_code"`
}
