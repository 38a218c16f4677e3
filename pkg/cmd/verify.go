package cmd

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/tracebloc/kubectl-tracebloc/pkg/category"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/output"
	"github.com/tracebloc/kubectl-tracebloc/pkg/verify"
)

var verifyExample = `  # Is the staged copy of cats_dogs still exactly ./cats_dogs?
  %[1]s verify ./cats_dogs --table cats_dogs -n tracebloc

  # Read every staged file again instead of trusting the copy's manifest
  %[1]s verify ./cats_dogs --table cats_dogs --deep

  # A tabular table: give the CSV you pushed
  %[1]s verify ./houses.csv --table houses

  # For scripts: exit 0 when equal, 10 when not
  %[1]s verify ./cats_dogs --table cats_dogs -o json | jq '.missing, .extra, .changed'`

const verifyLong = `Compare a local dataset with the copy a push staged of it on the shared
volume, file by file: names, sizes and SHA-256. It prints the files missing
from the staged copy, the files only the staged copy has (extra) and the
files that differ (changed), and exits 0 when they are equal, 10 when they
are not (or when the table has no staged copy).

The local side is what a push of the table's task would stage, after the
same leftovers, .traceblocignore and --exclude rules; the task is the one
the table was last pushed for (--task overrides it). The staged side is read
by the stage agent in a short-lived helper pod, which writes nothing: the
hashes come from the manifest the push left beside the copy for every file
unchanged since, and from reading the file otherwise; --deep reads every
file. The helper pod is deleted afterwards, after Ctrl-C too.

Exit codes:
  0    the staged copy is the local dataset
  2    bad flags or table name
  3    the local dataset cannot be read
  4    no tracebloc client release or no usable client-pvc here
  5    your credentials lack a permission verify needs
  7    the helper pod or the stage agent failed
  10   the staged copy differs (missing, extra, changed), or there is none
  130  interrupted, after cleaning up`

// VerifyOptions are the inputs of verify.
type VerifyOptions struct {
	Streams genericiooptions.IOStreams
	Output  output.Format
	Quiet   bool
	Path    string
	Table   string
	Task    string
	Exclude []string
	Deep    bool

	HelperPodOptions
}

// NewCmdVerify returns the verify command.
func NewCmdVerify(getter genericclioptions.RESTClientGetter, streams genericiooptions.IOStreams, hooks Hooks) *cobra.Command {
	o := &VerifyOptions{HelperPodOptions: newHelperPodOptions(getter, hooks), Streams: streams}
	cmd := &cobra.Command{
		Use:     "verify <local-path> --table <name>",
		Short:   "Compare a local dataset with its staged copy (names, sizes, SHA-256)",
		Long:    verifyLong,
		Example: fmt.Sprintf(verifyExample, "kubectl tracebloc"),
		Args:    oneArg("the dataset folder you pushed"),
		RunE: func(c *cobra.Command, args []string) error {
			o.Path = args[0]
			// A refusal here gets its -o json object from Execute.
			return validateCompleteRun(c.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Table, "table", "", "staged table to compare with (required)")
	f.StringVar(&o.Task, "task", "", "task the dataset was pushed for (default: the one the table's last push recorded): "+strings.Join(category.Names(), ", "))
	f.StringArrayVar(&o.Exclude, "exclude", nil, "leave out what this pattern matches, as push --exclude does (repeatable)")
	f.BoolVar(&o.Deep, "deep", false, "have the stage agent read and hash every staged file, trusting no manifest")
	output.AddOutputFlags(f, &o.Output, &o.Quiet)
	o.addFlags(f, "reads the staged copy")
	_ = cmd.RegisterFlagCompletionFunc("table", completeTables(getter))
	_ = cmd.RegisterFlagCompletionFunc("task", completeTasks)
	return cmd
}

// Validate checks the flags that need no cluster.
func (o *VerifyOptions) Validate() error {
	if err := o.Output.Validate(); err != nil {
		return err
	}
	if o.Table == "" {
		return exitcode.Errorf(exitcode.BadFlags, "--table is required: name the staged table to compare with, e.g. --table cats_dogs")
	}
	if err := o.validateWait(); err != nil {
		return err
	}
	return dataset.CheckExcludes(o.Exclude)
}

// Complete builds what is not set yet: the printer and the client.
func (o *VerifyOptions) Complete() error {
	return o.completeHelper(o.Streams, o.Quiet)
}

// Run compares and prints what differs.
func (o *VerifyOptions) Run(ctx context.Context) error {
	p := o.Printer
	r, err := verify.Run(ctx, verify.Options{
		HelperOptions: o.helper(),
		Path:          o.Path, Table: o.Table, Task: o.Task, Exclude: o.Exclude, Deep: o.Deep,
	})
	// The differences are the result, in text too: print them, then let
	// main print the one-line verdict as the error.
	if exitcode.Of(err) == exitcode.Differs && r.Staged && o.Output == output.Text {
		printVerify(p, r)
		return err
	}
	return output.Finish(p, o.Output, r, err, func(p *output.Printer) { printVerify(p, r) })
}

// verifyShown is how many files of each kind the text lists.
const verifyShown = 20

func printVerify(p *output.Printer, r *verify.Report) {
	if r.Equal {
		p.Resultf("equal: the staged copy of %s holds the %d files (%s) of %s, same names, sizes and SHA-256\n",
			r.Table, r.Local.Files, output.HumanBytes(r.Local.Bytes), r.Path)
		return
	}
	p.Resultf("the staged copy of %s (%d files, %s) differs from %s (%d files, %s):\n", r.Table, r.Remote.Files, output.HumanBytes(r.Remote.Bytes),
		r.Path, r.Local.Files, output.HumanBytes(r.Local.Bytes))
	list := func(what string, n int, line func(i int) string) {
		if n == 0 {
			return
		}
		p.Resultf("%s (%d):\n", what, n)
		for i := range min(n, verifyShown) {
			p.Resultf("  %s\n", line(i))
		}
		if n > verifyShown {
			p.Resultf("  … and %d more (-o json lists them all)\n", n-verifyShown)
		}
	}
	list("missing from the staged copy", len(r.Missing), func(i int) string {
		return fmt.Sprintf("%s (%s)", r.Missing[i].Path, output.HumanBytes(r.Missing[i].Size))
	})
	list("extra, only in the staged copy", len(r.Extra), func(i int) string {
		return fmt.Sprintf("%s (%s)", r.Extra[i].Path, output.HumanBytes(r.Extra[i].Size))
	})
	list("changed", len(r.Changed), func(i int) string {
		c := r.Changed[i]
		if c.LocalSize != c.StagedSize {
			return fmt.Sprintf("%s (local %s, staged %s)", c.Path, output.HumanBytes(c.LocalSize), output.HumanBytes(c.StagedSize))
		}
		return fmt.Sprintf("%s (same size, SHA-256 local %.12s…, staged %.12s…)", c.Path, c.LocalSHA256, c.StagedSHA256)
	})
	list("not regular files in the staged copy", len(r.Odd), func(i int) string {
		return fmt.Sprintf("%s (%s)", r.Odd[i].Path, r.Odd[i].What)
	})
	p.Resultf("push again to make the staged copy equal: kubectl tracebloc push %s --table %s -n %s\n", r.Path, r.Table, r.Namespace)
}

// verifyFailure is the object of a verify that failed before it began.
func verifyFailure(c *cobra.Command, msg string, code int) *verify.Report {
	table, _ := c.Flags().GetString("table")
	r := verify.Failed(firstArg(c), table, nil)
	r.Error, r.ExitCode = msg, code
	return r
}

// firstArg is the first positional argument cobra parsed, "" when none.
func firstArg(c *cobra.Command) string {
	if args := c.Flags().Args(); len(args) > 0 {
		return args[0]
	}
	return ""
}
