package cmd

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset"
	"github.com/tracebloc/kubectl-tracebloc/pkg/output"
	"github.com/tracebloc/kubectl-tracebloc/pkg/stage"
	"github.com/tracebloc/kubectl-tracebloc/pkg/status"
)

var statusExample = `  # What the tracebloc namespace holds: release, volume, staged tables, leftovers
  %[1]s status -n tracebloc

  # The same for scripts
  %[1]s status -n tracebloc -o json`

// NewCmdStatus returns the status command.
func NewCmdStatus(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	var out, image string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the client release, its volume and the staged tables",
		Long: `Show, for the current namespace (or -n), the tracebloc client release and
chart version, the shared volume client-pvc, every staged table with its file
count, size and when it was staged, and what interrupted pushes left behind.
The staging folder is read through a short-lived helper pod.`,
		Example: fmt.Sprintf(statusExample, "kubectl tracebloc"),
		Args:    badArgs(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			if err := checkOutput(out); err != nil {
				return err
			}
			p := output.New(streams.Out, streams.ErrOut, quiet)
			conn, err := connector(flags, "")()
			if err != nil {
				return err
			}
			r, err := status.Run(c.Context(), stage.HelperOptions{Client: conn.Client, Config: conn.Config, Namespace: conn.Namespace,
				Image: image, Timeout: 2 * time.Minute, CleanupTimeout: 30 * time.Second, Version: Version, Note: p.Notef, Warn: p.Warnf})
			if out == "json" {
				if jerr := p.JSON(r); jerr != nil && err == nil {
					return jerr
				}
				return err
			}
			if err != nil {
				return err
			}
			printStatus(p, r)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "text", "output format: text or json")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only warnings, errors and the result")
	cmd.Flags().StringVar(&image, "stage-image", defaultStageImage(), "image of the helper pod that reads the staging folder")
	return cmd
}

func printStatus(p *output.Printer, r *status.Report) {
	p.Resultf("Namespace:  %s\n", r.Namespace)
	p.Resultf("Release:    %s (chart %s, app %s, Deployment %s)\n", r.Release.Name, r.Release.ChartVersion, r.Release.AppVersion, r.Release.Deployment)
	p.Resultf("Volume:     %s, Bound, %s, %s\n", r.PVC.Name, strings.Join(r.PVC.AccessModes, ", "), r.PVC.Capacity)
	if len(r.Tables) == 0 {
		p.Resultf("Staged:     no tables yet (kubectl tracebloc push <folder> --table <name>)\n")
	} else {
		p.Resultf("Staged:\n")
		tw := tabwriter.NewWriter(p.Out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  TABLE\tTASK\tFILES\tSIZE\tSTAGED")
		for _, t := range r.Tables {
			task := t.Task
			if task == "" {
				task = "-"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%s (%s ago)\n", t.Name, task, t.Files, dataset.HumanBytes(t.Bytes),
				t.StagedAt.Format("2006-01-02 15:04:05 MST"), time.Since(t.StagedAt).Round(time.Second))
		}
		_ = tw.Flush()
	}
	if len(r.Leftovers) == 0 {
		p.Resultf("Leftovers:  none\n")
		return
	}
	p.Resultf("Leftovers:  %d (remove them with kubectl tracebloc cleanup -n %s)\n", len(r.Leftovers), r.Namespace)
	for _, i := range r.Leftovers {
		p.Resultf("  %s %s (%s)\n", strings.ToLower(i.Kind), i.Name, i.Reason)
	}
}
