package cmd

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/tracebloc/kubectl-tracebloc/pkg/cluster"
	"github.com/tracebloc/kubectl-tracebloc/pkg/ingest"
	"github.com/tracebloc/kubectl-tracebloc/pkg/output"
)

var runsExample = `  # The ingestion runs of the tracebloc namespace, newest first
  %[1]s runs -n tracebloc

  # The same for scripts
  %[1]s runs -n tracebloc -o json`

// NewCmdRuns returns the runs command.
func NewCmdRuns(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List the ingestion runs of the namespace",
		Long: `List the ingestion runs (the jobs-manager's Jobs) of the current namespace (or
-n), newest first: table, idempotency key, Job, state, age, and for a finished
run the ingestor's summary. Attach to one with kubectl tracebloc logs.`,
		Example: fmt.Sprintf(runsExample, "kubectl tracebloc"),
		Args:    badArgs(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			if err := checkOutput(out); err != nil {
				return err
			}
			p := output.New(streams.Out, streams.ErrOut, false)
			conn, err := connector(flags, "")()
			if err != nil {
				return err
			}
			runs, err := ingest.ListRuns(c.Context(), conn.Client, conn.Namespace, true)
			if err != nil {
				return err
			}
			if out == "json" {
				return p.JSON(struct {
					Namespace string       `json:"namespace"`
					Runs      []ingest.Run `json:"runs"`
				}{conn.Namespace, runs})
			}
			printRuns(p, conn.Namespace, runs, time.Now())
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "text", "output format: text or json")
	return cmd
}

func printRuns(p *output.Printer, namespace string, runs []ingest.Run, now time.Time) {
	if len(runs) == 0 {
		p.Resultf("no ingestion runs in namespace %s\n", namespace)
		return
	}
	tw := tabwriter.NewWriter(p.Out, 0, 4, 2, ' ', 0)
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
func completeRuns(flags *genericclioptions.ConfigFlags) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
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
