package cmd

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/tracebloc/kubectl-tracebloc/pkg/cluster"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/ingest"
	"github.com/tracebloc/kubectl-tracebloc/pkg/output"
)

var runsExample = `  # The ingestion runs of the tracebloc namespace, newest first
  %[1]s runs -n tracebloc

  # The same for scripts
  %[1]s runs -n tracebloc -o json`

// RunsOptions are the inputs of runs.
type RunsOptions struct {
	Clients
	Streams genericiooptions.IOStreams
	Output  output.Format
	Printer *output.Printer
	Now     func() time.Time
}

// NewCmdRuns returns the runs command.
func NewCmdRuns(getter genericclioptions.RESTClientGetter, streams genericiooptions.IOStreams, p *output.Printer) *cobra.Command {
	o := &RunsOptions{Clients: Clients{Getter: getter}, Streams: streams, Printer: p}
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List the ingestion runs of the namespace",
		Long: `List the ingestion runs (the jobs-manager's Jobs) of the current namespace (or
-n), newest first: table, idempotency key, Job, state, age, and for a finished
run the ingestor's summary. Attach to one with kubectl tracebloc logs.`,
		Example: fmt.Sprintf(runsExample, "kubectl tracebloc"),
		Args:    noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return validateCompleteRun(c.Context(), o)
		},
	}
	output.AddOutputFlags(cmd.Flags(), &o.Output, nil)
	return cmd
}

// Validate checks the flags.
func (o *RunsOptions) Validate() error { return o.Output.Validate() }

// Complete builds what is not set yet: the printer, the clock and the client.
func (o *RunsOptions) Complete() error {
	if o.Printer == nil {
		o.Printer = output.New(o.Streams.Out, o.Streams.ErrOut, false)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o.complete()
}

// Run lists the runs and prints them.
func (o *RunsOptions) Run(ctx context.Context) error {
	runs, err := ingest.ListRuns(ctx, o.Client, o.Namespace, true)
	r := runsReport{Namespace: o.Namespace, Runs: runs, SchemaVersion: runsSchemaVersion}
	if r.Runs == nil {
		r.Runs = runsNone()
	}
	if err != nil {
		r.Error, r.ExitCode = err.Error(), exitcode.Of(err)
	}
	return output.Finish(o.Printer, o.Output, r, err, func(p *output.Printer) { printRuns(p, o.Namespace, runs, o.Now()) })
}

// runsSchemaVersion is the version of the -o json object of runs
// (schema/runs.json): it changes only by additions.
const runsSchemaVersion = 1

// runsReport is the -o json object of runs.
type runsReport struct {
	Namespace     string       `json:"namespace"`
	Runs          []ingest.Run `json:"runs"`
	Error         string       `json:"error,omitempty"`
	ExitCode      int          `json:"exit_code"`
	SchemaVersion int          `json:"schema_version"`
}

func runsNone() []ingest.Run { return []ingest.Run{} }

func printRuns(p *output.Printer, namespace string, runs []ingest.Run, now time.Time) {
	if len(runs) == 0 {
		p.Resultf("no ingestion runs in namespace %s\n", namespace)
		return
	}
	tw := output.Table(p.Out)
	fmt.Fprintln(tw, "TABLE\tKEY\tJOB\tSTATE\tAGE\tSUMMARY")
	for _, r := range runs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", orDash(r.Table), r.Key, r.Job, r.State, ingest.Age(now, r.Created), summaryCell(r.Summary))
	}
	_ = tw.Flush()
}

func summaryCell(s *ingest.Summary) string {
	if s == nil {
		return "-"
	}
	return fmt.Sprintf("%d/%d inserted, %d skipped, %d failed", s.Inserted, s.Total, s.Skipped, s.FailedInsert+s.FailedSend+s.TransferFailures)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// completeRuns offers the runs' Jobs, keys and tables for logs RUN.
func completeRuns(flags genericclioptions.RESTClientGetter) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return completion(flags, func(ctx context.Context, conn *cluster.Connection) ([]string, error) {
		runs, err := ingest.ListRuns(ctx, conn.Client, conn.Namespace, false)
		if err != nil {
			return nil, err
		}
		var out []string
		seen := map[string]bool{}
		for _, r := range runs {
			out = append(out, fmt.Sprintf("%s\t%s, key %s", r.Job, r.State, r.Key))
			if r.Table != "" && !seen[r.Table] {
				seen[r.Table] = true
				out = append(out, fmt.Sprintf("%s\tlatest run of the table", r.Table))
			}
		}
		return out, nil
	})
}
