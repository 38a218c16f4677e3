package cmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/ingest"
	"github.com/tracebloc/kubectl-tracebloc/pkg/output"
)

var logsExample = `  # Follow a running ingestion run to its end (exit 0, or 9 when it failed)
  %[1]s logs ingest-job-3f9a0c21b7 -n tracebloc -f

  # The log and summary of the latest run of a table
  %[1]s logs cats_dogs -n tracebloc`

// LogsOptions are the inputs of logs.
type LogsOptions struct {
	Clients
	Streams genericiooptions.IOStreams
	// Name is the run: its Job, its idempotency key or its table.
	Name     string
	Follow   bool
	NoFollow bool
	Quiet    bool
	Output   output.Format
	Printer  *output.Printer
}

// NewCmdLogs returns the logs command.
func NewCmdLogs(getter genericclioptions.RESTClientGetter, streams genericiooptions.IOStreams, p *output.Printer) *cobra.Command {
	o := &LogsOptions{Clients: Clients{Getter: getter}, Streams: streams, Printer: p}
	cmd := &cobra.Command{
		Use:   "logs RUN|TABLE",
		Short: "Attach to an ingestion run: its log and its result",
		Long: `Attach to an ingestion run, named by its Job, its idempotency key or its
table (the table's latest run). A finished run: its log, its summary, and exit
0 when it succeeded with no failures, 9 otherwise. A running one: with -f,
follow it to its end and exit the same way; without -f (or with --no-follow),
its log so far. Ctrl-C detaches (exit 130); the run goes on.

The log goes to stderr. With -o json, stdout holds one object: the run, its
state and summary, the exit code.`,
		Example: fmt.Sprintf(logsExample, "kubectl tracebloc"),
		Args:    oneArg("a run or a table (kubectl tracebloc runs lists them)"),
		RunE: func(c *cobra.Command, args []string) error {
			o.Name = args[0]
			return validateCompleteRun(c.Context(), o)
		},
	}
	cmd.Flags().BoolVarP(&o.Follow, "follow", "f", false, "follow a running run to its end")
	cmd.Flags().BoolVar(&o.NoFollow, "no-follow", false, "print the log so far and return, even for a running run (the default; for scripts that say so)")
	output.AddOutputFlags(cmd.Flags(), &o.Output, nil)
	cmd.Flags().BoolVarP(&o.Quiet, "quiet", "q", false, "print only the result, not the log")
	cmd.ValidArgsFunction = func(c *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return completeRuns(getter)(c, args, prefix)
	}
	return cmd
}

// Validate checks the flags.
func (o *LogsOptions) Validate() error {
	if o.Follow && o.NoFollow {
		return exitcode.Errorf(exitcode.BadFlags, "-f and --no-follow contradict each other: give one")
	}
	return o.Output.Validate()
}

// Complete builds what is not set yet: the printer and the client.
func (o *LogsOptions) Complete() error {
	if o.Printer == nil {
		o.Printer = output.New(o.Streams.Out, o.Streams.ErrOut, o.Quiet)
	}
	o.Printer.Quiet = o.Quiet
	return o.complete()
}

// Run attaches to the run.
func (o *LogsOptions) Run(ctx context.Context) error {
	r := &logsReport{SchemaVersion: logsSchemaVersion, Namespace: o.Namespace, ErrorLines: []string{}}
	err := attach(ctx, o.Printer, o.Client, o.Namespace, o.Name, o.Follow, o.Output == output.JSON, r)
	if err != nil {
		r.Error, r.ExitCode = err.Error(), exitcode.Of(err)
	}
	return output.Finish(o.Printer, o.Output, r, err, func(p *output.Printer) { printLogsResult(p, r) })
}

// logsSchemaVersion is the version of the -o json object of logs
// (schema/logs.json): it changes only by additions.
const logsSchemaVersion = 1

// logsReport is what logs found of a run; -o json prints it.
type logsReport struct {
	SchemaVersion int    `json:"schema_version"`
	Namespace     string `json:"namespace,omitempty"`
	Job           string `json:"job,omitempty"`
	Key           string `json:"key,omitempty"`
	Table         string `json:"table,omitempty"`
	// State is the run's state as logs left it: running when it did not
	// follow a running run.
	State   string          `json:"state,omitempty"`
	Reason  string          `json:"reason,omitempty"`
	Summary *ingest.Summary `json:"summary,omitempty"`
	// ErrorLines are the ingestor's own error lines, last ones kept.
	ErrorLines []string `json:"error_lines"`
	Error      string   `json:"error,omitempty"`
	ExitCode   int      `json:"exit_code"`
}

func attach(ctx context.Context, p *output.Printer, client kubernetes.Interface, namespace, name string, follow, json bool, r *logsReport) error {
	run, err := ingest.FindRun(ctx, client, namespace, name)
	if err != nil {
		return err
	}
	r.Job, r.Key, r.Table, r.State = run.Job, run.Key, run.Table, run.State
	p.Notef("ingestion run: job %s in namespace %s, key %s, table %s, %s", run.Job, namespace, run.Key, orDash(run.Table), run.State)
	if run.State == ingest.StateRunning && !follow {
		if err := ingest.PrintLog(ctx, client, namespace, run.Job, p.LogLine); err != nil {
			return err
		}
		// On stderr: under -o json stdout holds the one object.
		p.Notef("the run %s is still running; follow it to its end with: %s", run.Job, ingest.AttachCommand(run.Job, namespace))
		return nil
	}
	res, err := ingest.Attach(ctx, client, ingest.AttachOptions{FollowOptions: ingest.FollowOptions{Namespace: namespace, Job: run.Job,
		OnLine: p.LogLine, OnNote: func(note string) { p.Notef("%s", note) }}})
	if err != nil {
		return err
	}
	r.State, r.Reason, r.Summary = res.State, res.Reason, res.Summary
	if res.ErrorLines != nil {
		r.ErrorLines = res.ErrorLines
	}
	if res.Summary != nil && !json {
		// The summary line is part of the text result even when the run
		// failed: print it before the error. With -o json it is in the
		// object.
		p.Resultf("%s\n", res.Summary.Line(run.Table))
	}
	return res.Err(run.Job)
}

// printLogsResult ends the text of a logs that succeeded.
func printLogsResult(p *output.Printer, r *logsReport) {
	if r.State == ingest.StateRunning {
		p.Resultf("the run %s is still running; follow it to its end with: kubectl tracebloc logs %s -n %s -f\n", r.Job, r.Job, r.Namespace)
		return
	}
	p.Resultf("the run %s succeeded\n", r.Job)
}
