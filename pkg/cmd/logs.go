package cmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"

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
	Name    string
	Follow  bool
	Quiet   bool
	Printer *output.Printer
}

// NewCmdLogs returns the logs command.
func NewCmdLogs(getter genericclioptions.RESTClientGetter, streams genericiooptions.IOStreams) *cobra.Command {
	o := &LogsOptions{Clients: Clients{Getter: getter}, Streams: streams}
	cmd := &cobra.Command{
		Use:   "logs RUN|TABLE",
		Short: "Attach to an ingestion run: its log and its result",
		Long: `Attach to an ingestion run, named by its Job, its idempotency key or its
table (the table's latest run). A finished run: its log, its summary, and exit
0 when it succeeded with no failures, 9 otherwise. A running one: with -f,
follow it to its end and exit the same way; without -f, its log so far.
Ctrl-C detaches (exit 130); the run goes on.`,
		Example: fmt.Sprintf(logsExample, "kubectl tracebloc"),
		Args:    badArgs(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, args []string) error {
			o.Name = args[0]
			if err := o.Complete(); err != nil {
				return err
			}
			return o.Run(c.Context())
		},
	}
	cmd.Flags().BoolVarP(&o.Follow, "follow", "f", false, "follow a running run to its end")
	cmd.Flags().BoolVarP(&o.Quiet, "quiet", "q", false, "print only the result, not the log")
	cmd.ValidArgsFunction = func(c *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return completeRuns(getter)(c, args, prefix)
	}
	return cmd
}

// Complete builds what is not set yet: the printer and the client.
func (o *LogsOptions) Complete() error {
	if o.Printer == nil {
		o.Printer = output.New(o.Streams.Out, o.Streams.ErrOut, o.Quiet)
	}
	return o.complete()
}

// Run attaches to the run.
func (o *LogsOptions) Run(ctx context.Context) error {
	return attach(ctx, o.Printer, o.Client, o.Namespace, o.Name, o.Follow)
}

func attach(ctx context.Context, p *output.Printer, client kubernetes.Interface, namespace, name string, follow bool) error {
	run, err := ingest.FindRun(ctx, client, namespace, name)
	if err != nil {
		return err
	}
	p.Notef("ingestion run: job %s in namespace %s, key %s, table %s, %s", run.Job, namespace, run.Key, orDash(run.Table), run.State)
	if run.State == ingest.StateRunning && !follow {
		if err := ingest.PrintLog(ctx, client, namespace, run.Job, p.LogLine); err != nil {
			return err
		}
		p.Resultf("the run %s is still running; follow it to its end with: %s\n", run.Job, ingest.AttachCommand(run.Job, namespace))
		return nil
	}
	res, err := ingest.Attach(ctx, client, ingest.AttachOptions{FollowOptions: ingest.FollowOptions{Namespace: namespace, Job: run.Job,
		OnLine: p.LogLine, OnNote: func(note string) { p.Notef("%s", note) }}})
	if err != nil {
		return err
	}
	if res.Summary != nil {
		p.Resultf("%s\n", res.Summary.Line(run.Table))
	}
	if err := res.Err(run.Job); err != nil {
		return err
	}
	p.Resultf("the run %s succeeded\n", run.Job)
	return nil
}
