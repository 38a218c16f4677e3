package cmd

import (
	"context"
	"fmt"
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

// CleanupOptions are the inputs of cleanup. Complete fills the clients and
// the printer from the flags; tests set them instead.
type CleanupOptions struct {
	Streams genericiooptions.IOStreams
	Output  output.Format
	Quiet   bool
	DryRun  bool

	HelperPodOptions
}

// NewCmdCleanup returns the cleanup command.
func NewCmdCleanup(getter genericclioptions.RESTClientGetter, streams genericiooptions.IOStreams, hooks Hooks) *cobra.Command {
	o := &CleanupOptions{HelperPodOptions: newHelperPodOptions(getter, hooks), Streams: streams}
	cmd := &cobra.Command{
		Use:   "cleanup",
		Short: "Remove what interrupted or killed pushes left behind",
		Long: `Find stage pods, expired push Leases and temporary staging folders
(.partial-<table>, .old-<table>-*) that no live push owns, show them, and
remove them. A push of a table that holds a live Lease is never touched.`,
		Example: fmt.Sprintf(cleanupExample, "kubectl tracebloc"),
		Args:    noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			// Flags first: a bad -o is reported without reading a kubeconfig.
			return validateCompleteRun(c.Context(), o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.DryRun, "dry-run", false, "only list what would be removed")
	output.AddOutputFlags(f, &o.Output, &o.Quiet)
	o.addFlags(f, "looks at the staging folder")
	return cmd
}

// Validate checks the flags.
func (o *CleanupOptions) Validate() error {
	if err := o.Output.Validate(); err != nil {
		return err
	}
	return o.validateWait()
}

// Complete builds what is not set yet: the printer and the client.
func (o *CleanupOptions) Complete() error {
	return o.completeHelper(o.Streams, o.Quiet)
}

// Run finds the leftovers, removes them unless --dry-run, and prints them.
func (o *CleanupOptions) Run(ctx context.Context) error {
	p := o.Printer
	r, err := cleanup.Run(ctx, cleanup.Options{HelperOptions: o.helper(), DryRun: o.DryRun})
	return output.Finish(p, o.Output, r, err, func(p *output.Printer) { printCleanup(p, r) })
}

func printCleanup(p *output.Printer, r *cleanup.Report) {
	if len(r.Found) == 0 {
		p.Resultf("nothing left behind in namespace %s\n", r.Namespace)
		return
	}
	tw := output.Table(p.Out)
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
}

// cleanupFailure is the object of a cleanup that failed before it began.
func cleanupFailure(msg string, code int) *cleanup.Report {
	r := cleanup.NewReport("")
	r.Error, r.ExitCode = msg, code
	return r
}
