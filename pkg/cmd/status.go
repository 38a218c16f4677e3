package cmd

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/tracebloc/kubectl-tracebloc/pkg/output"
	"github.com/tracebloc/kubectl-tracebloc/pkg/status"
)

var statusExample = `  # What the tracebloc namespace holds: release, volume, staged tables, leftovers
  %[1]s status -n tracebloc

  # The same for scripts
  %[1]s status -n tracebloc -o json`

// StatusOptions are the inputs of status. Complete fills the clients and the
// printer from the flags; tests set them instead.
type StatusOptions struct {
	Streams genericiooptions.IOStreams
	Output  output.Format
	Quiet   bool

	HelperPodOptions
	Now func() time.Time
}

// NewCmdStatus returns the status command.
func NewCmdStatus(getter genericclioptions.RESTClientGetter, streams genericiooptions.IOStreams, hooks Hooks) *cobra.Command {
	o := &StatusOptions{HelperPodOptions: newHelperPodOptions(getter, hooks), Streams: streams}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the client release, its volume and the staged tables",
		Long: `Show, for the current namespace (or -n), the tracebloc client release and
chart version, the shared volume client-pvc, every staged table with its file
count, size and when it was staged, and what interrupted pushes left behind.
The staging folder is read through a short-lived helper pod.`,
		Example: fmt.Sprintf(statusExample, "kubectl tracebloc"),
		Args:    noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			// Flags first: a bad -o is reported without reading a kubeconfig.
			return validateCompleteRun(c.Context(), o)
		},
	}
	output.AddOutputFlags(cmd.Flags(), &o.Output, &o.Quiet)
	o.addFlags(cmd.Flags(), "reads the staging folder")
	return cmd
}

// Validate checks the flags.
func (o *StatusOptions) Validate() error {
	if err := o.Output.Validate(); err != nil {
		return err
	}
	return o.validateWait()
}

// Complete builds what is not set yet: the printer, the clock and the client.
func (o *StatusOptions) Complete() error {
	if o.Now == nil {
		o.Now = time.Now
	}
	return o.completeHelper(o.Streams, o.Quiet)
}

// Run reads the status and prints it.
func (o *StatusOptions) Run(ctx context.Context) error {
	p := o.Printer
	r, err := status.Run(ctx, o.helper())
	return output.Finish(p, o.Output, r, err, func(p *output.Printer) { printStatus(p, r, o.Now()) })
}

func printStatus(p *output.Printer, r *status.Report, now time.Time) {
	p.Resultf("Namespace:  %s\n", r.Namespace)
	p.Resultf("Release:    %s (chart %s, app %s, Deployment %s)\n", r.Release.Name, r.Release.ChartVersion, r.Release.AppVersion, r.Release.Deployment)
	p.Resultf("Volume:     %s, Bound, %s, %s\n", r.PVC.Name, strings.Join(r.PVC.AccessModes, ", "), r.PVC.Capacity)
	if len(r.Tables) == 0 {
		p.Resultf("Staged:     no tables yet (kubectl tracebloc push <folder> --table <name>)\n")
	} else {
		p.Resultf("Staged:\n")
		tw := output.Table(p.Out)
		fmt.Fprintln(tw, "  TABLE\tTASK\tFILES\tSIZE\tSTAGED")
		for _, t := range r.Tables {
			task := t.Task
			if task == "" {
				task = "-"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%s (%s ago)\n", t.Name, task, t.Files, output.HumanBytes(t.Bytes),
				t.StagedAt.Format("2006-01-02 15:04:05 MST"), now.Sub(t.StagedAt).Round(time.Second))
		}
		_ = tw.Flush()
	}
	if len(r.Leftovers) == 0 {
		p.Resultf("Leftovers:  none\n")
		return
	}
	p.Resultf("Leftovers:  %d (remove them with kubectl tracebloc cleanup -n %s)\n", len(r.Leftovers), r.Namespace)
	for _, i := range r.Leftovers {
		p.Resultf("  %s %s (%s)\n", strings.ToLower(string(i.Kind)), i.Name, i.Reason)
	}
}

// statusFailure is the object of a status that failed before it began.
func statusFailure(msg string, code int) *status.Report {
	r := status.NewReport("")
	r.Error, r.ExitCode = msg, code
	return r
}
