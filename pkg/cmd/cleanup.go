package cmd

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/tracebloc/kubectl-tracebloc/pkg/cleanup"
	"github.com/tracebloc/kubectl-tracebloc/pkg/output"
)

var cleanupExample = `  # List what pushes that died left behind, remove nothing
  %[1]s cleanup -n tracebloc --dry-run

  # Remove it
  %[1]s cleanup -n tracebloc`

// NewCmdCleanup returns the cleanup command.
func NewCmdCleanup(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	var dryRun, quiet bool
	var out, image string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "cleanup",
		Short: "Remove what interrupted or killed pushes left behind",
		Long: `Find stage pods, expired push Leases and temporary staging folders
(.partial-<table>, .old-<table>-*) that no live push owns, show them, and
remove them. A push of a table that holds a live Lease is never touched.`,
		Example: fmt.Sprintf(cleanupExample, "kubectl tracebloc"),
		Args:    badArgs(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			if err := checkOutput(out); err != nil {
				return err
			}
			p := output.New(streams.Out, streams.ErrOut, quiet)
			return runCleanup(c.Context(), flags, p, out == "json", cleanup.Options{Image: image, DryRun: dryRun,
				PodRunningTimeout: timeout, CleanupTimeout: 30 * time.Second, Version: Version, Note: p.Notef, Warn: p.Warnf})
		},
	}
	f := cmd.Flags()
	f.BoolVar(&dryRun, "dry-run", false, "only list what would be removed")
	f.StringVarP(&out, "output", "o", "text", "output format: text or json")
	f.BoolVarP(&quiet, "quiet", "q", false, "print only warnings, errors and the result")
	f.StringVar(&image, "stage-image", defaultStageImage(), "image of the helper pod that looks at the staging folder")
	f.DurationVar(&timeout, "pod-running-timeout", 2*time.Minute, "how long to wait for the helper pod to run")
	return cmd
}

func runCleanup(ctx context.Context, getter genericclioptions.RESTClientGetter, p *output.Printer, json bool, o cleanup.Options) error {
	conn, err := connector(getter, "")()
	if err != nil {
		return err
	}
	o.Client, o.Config, o.Namespace = conn.Client, conn.Config, conn.Namespace
	r, err := cleanup.Run(ctx, o)
	if json {
		if jerr := p.JSON(r); jerr != nil && err == nil {
			return jerr
		}
		return err
	}
	if err != nil {
		return err
	}
	if len(r.Found) == 0 {
		p.Resultf("nothing left behind in namespace %s\n", r.Namespace)
		return nil
	}
	tw := tabwriter.NewWriter(p.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tNAME\tTABLE\tAGE\tWHY")
	for _, i := range r.Found {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", i.Kind, i.Name, i.Table, time.Duration(i.AgeSeconds*float64(time.Second)), i.Reason)
	}
	_ = tw.Flush()
	if r.Removed {
		p.Resultf("removed %d leftovers\n", len(r.Found))
	} else {
		p.Resultf("dry run: nothing was removed\n")
	}
	return nil
}
