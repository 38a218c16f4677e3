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
	"github.com/tracebloc/kubectl-tracebloc/pkg/podexec"
)

var cleanupExample = `  # List what pushes that died left behind, remove nothing
  %[1]s cleanup -n tracebloc --dry-run

  # Remove it
  %[1]s cleanup -n tracebloc`

// CleanupOptions are the inputs of cleanup. Complete fills the clients and
// the printer from the flags; tests set them instead.
type CleanupOptions struct {
	Streams           genericiooptions.IOStreams
	Output            string
	Quiet             bool
	DryRun            bool
	Image             string
	PodRunningTimeout time.Duration

	Clients
	// NewRunner replaces pods/exec into the helper Pod (tests); nil is exec.
	NewRunner func(pod string) podexec.Runner
	Printer   *output.Printer
}

// NewCmdCleanup returns the cleanup command.
func NewCmdCleanup(getter genericclioptions.RESTClientGetter, streams genericiooptions.IOStreams) *cobra.Command {
	o := &CleanupOptions{Clients: Clients{Getter: getter}, Streams: streams}
	cmd := &cobra.Command{
		Use:   "cleanup",
		Short: "Remove what interrupted or killed pushes left behind",
		Long: `Find stage pods, expired push Leases and temporary staging folders
(.partial-<table>, .old-<table>-*) that no live push owns, show them, and
remove them. A push of a table that holds a live Lease is never touched.`,
		Example: fmt.Sprintf(cleanupExample, "kubectl tracebloc"),
		Args:    badArgs(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			// Flags first: a bad -o is reported without reading a kubeconfig.
			if err := o.Validate(); err != nil {
				return err
			}
			if err := o.Complete(); err != nil {
				return err
			}
			return o.Run(c.Context())
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.DryRun, "dry-run", false, "only list what would be removed")
	f.StringVarP(&o.Output, "output", "o", "text", "output format: text or json")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "print only warnings, errors and the result")
	f.StringVar(&o.Image, "stage-image", defaultStageImage(), "image of the helper pod that looks at the staging folder")
	f.DurationVar(&o.PodRunningTimeout, "pod-running-timeout", podRunningTimeout, "how long to wait for the helper pod to run")
	return cmd
}

// Validate checks the flags.
func (o *CleanupOptions) Validate() error { return checkOutput(o.Output) }

// Complete builds what is not set yet: the printer and the client.
func (o *CleanupOptions) Complete() error {
	if o.Printer == nil {
		o.Printer = output.New(o.Streams.Out, o.Streams.ErrOut, o.Quiet)
	}
	return o.complete()
}

// Run finds the leftovers, removes them unless --dry-run, and prints them.
func (o *CleanupOptions) Run(ctx context.Context) error {
	p := o.Printer
	r, err := cleanup.Run(ctx, cleanup.Options{Client: o.Client, Config: o.Config, Namespace: o.Namespace, Image: o.Image,
		DryRun: o.DryRun, PodRunningTimeout: o.PodRunningTimeout, CleanupTimeout: cleanupTimeout, Version: Version,
		Note: p.Notef, Warn: p.Warnf, NewRunner: o.NewRunner})
	if o.Output == "json" {
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
