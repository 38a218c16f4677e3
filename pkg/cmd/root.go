// Package cmd wires cobra commands to the engine packages: flags, help,
// examples, and Options with Complete/Validate/Run.
package cmd

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/tracebloc/kubectl-tracebloc/pkg/category"
	"github.com/tracebloc/kubectl-tracebloc/pkg/cluster"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/output"
	"github.com/tracebloc/kubectl-tracebloc/pkg/stagepod"
	"github.com/tracebloc/kubectl-tracebloc/pkg/status"
)

// Hooks let main react to what a command creates, e.g. to print the exact
// cleanup command when a second Ctrl-C exits at once.
type Hooks struct {
	// Printer is the one printer of the process: the commands print
	// through it and main prints the error through it (nil: one over the
	// streams).
	Printer      *output.Printer
	OnPodCreated func(namespace, pod string)
}

// Version is stamped at build time with -ldflags.
var Version = "dev"

const rootLong = `kubectl tracebloc puts a local dataset on the shared volume of a tracebloc
client installation and has the client's ingestor load it. The whole dataset
is checked on your machine before anything touches the cluster; the staged
copy is verified by SHA-256.

It takes every task of the ingestor, in three families:
  image    images/ (.jpg, .jpeg or .png) with labels.csv, annotations/ or
           masks/ as the task needs
  text     labels.csv + texts/ (sequences/ for masked_language_modeling)
  tabular  one CSV file (time series and time to event too)

Tasks (push --task NAME; image_classification by default):
`

const rootLongEnd = `

A push stages the dataset, submits the ingestion run and follows it; status,
runs and logs show what happened, verify compares a staged copy with your
dataset file by file, and cleanup removes what interrupted pushes left.
Every command takes -o json: exactly one object on stdout, on success and
on failure, with schema_version and exit_code.`

// NewRootCmd returns `kubectl tracebloc` with its subcommands.
func NewRootCmd(streams genericiooptions.IOStreams, hooks Hooks) *cobra.Command {
	flags := genericclioptions.NewConfigFlags(true)
	if hooks.Printer == nil {
		hooks.Printer = output.New(streams.Out, streams.ErrOut, false)
	}
	root := &cobra.Command{
		Use:           "kubectl-tracebloc",
		Short:         "Stage local datasets on a tracebloc client cluster and ingest them",
		Long:          rootLong + category.List() + rootLongEnd,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl tracebloc"},
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	flags.AddFlags(root.PersistentFlags())
	_ = root.RegisterFlagCompletionFunc("namespace", completeNamespaces(flags))
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return exitcode.Errorf(exitcode.BadFlags, "%v\nSee '%s --help' for usage.", err, c.CommandPath())
	})
	root.AddCommand(NewCmdPush(flags, streams, hooks))
	root.AddCommand(NewCmdCleanup(flags, streams, hooks))
	root.AddCommand(NewCmdStatus(flags, streams, hooks))
	root.AddCommand(NewCmdRuns(flags, streams, hooks.Printer))
	root.AddCommand(NewCmdLogs(flags, streams, hooks.Printer))
	root.AddCommand(NewCmdVerify(flags, streams, hooks))
	root.AddCommand(NewCmdVersion(hooks.Printer))
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	return root
}

// oneArg takes exactly one argument, what (a dataset folder, a run); a
// wrong count says what the command takes and how to call it.
func oneArg(what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		switch {
		case len(args) == 0:
			return exitcode.Errorf(exitcode.BadFlags, "%s needs %s: %s\nSee '%s --help' for usage.", c.Name(), what, usageLine(c), c.CommandPath())
		case len(args) > 1:
			return exitcode.Errorf(exitcode.BadFlags, "%s takes one argument, %s, and got %d (%s): quote a path that holds spaces, and give every flag with its dashes (--table, not table)\nSee '%s --help' for usage.",
				c.Name(), what, len(args), quoteArgs(args), c.CommandPath())
		}
		return nil
	}
}

// noArgs takes no argument: everything the command needs is a flag.
func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return exitcode.Errorf(exitcode.BadFlags, "%s takes no arguments, and got %d (%s): give what it needs as flags (%s)\nSee '%s --help' for usage.",
			c.Name(), len(args), quoteArgs(args), usageLine(c), c.CommandPath())
	}
	return nil
}

// usageLine is how to call c, as its help's first line gives it.
func usageLine(c *cobra.Command) string {
	return strings.TrimSpace(c.UseLine())
}

// quoteArgs lists args as typed, the first few.
func quoteArgs(args []string) string {
	q := make([]string, 0, min(len(args), 4))
	for i, a := range args {
		if i == 3 {
			q = append(q, "…")
			break
		}
		q = append(q, strconv.Quote(a))
	}
	return strings.Join(q, ", ")
}

// alias registers name as a hidden second name of an existing string flag.
func alias(fs *pflag.FlagSet, name, of string) {
	f := fs.Lookup(of)
	fs.Var(f.Value, name, fmt.Sprintf("alias of --%s", of))
	_ = fs.MarkHidden(name)
}

// completion runs list on the cluster of the command line and offers the
// candidates that start with what was typed. A candidate may carry a
// description after a tab.
func completion(flags genericclioptions.RESTClientGetter, list func(context.Context, *cluster.Connection) ([]string, error)) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(_ *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
		conn, err := connector(flags, "")()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(context.Background(), completionTimeout)
		defer cancel()
		all, err := list(ctx, conn)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return candidates(all, prefix), cobra.ShellCompDirectiveNoFileComp
	}
}

// candidates are the completions of all that start with prefix, sorted.
// Cobra writes them to the shell as they are, and the shell shows them:
// a name read from the cluster (a Lease's table annotation, which anyone
// who may write Leases in the namespace sets) holding a control character
// or a line break is dropped, never printed.
func candidates(all []string, prefix string) []string {
	var out []string
	for _, c := range all {
		if strings.HasPrefix(c, prefix) && !strings.Contains(c, "\n") && output.Safe(c) == c {
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out
}

// completeNamespaces offers the cluster's namespaces for -n.
func completeNamespaces(flags genericclioptions.RESTClientGetter) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return completion(flags, func(ctx context.Context, conn *cluster.Connection) ([]string, error) {
		list, err := conn.Client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		names := make([]string, len(list.Items))
		for i, n := range list.Items {
			names[i] = n.Name
		}
		return names, nil
	})
}

// completeTables offers the tables staged in the namespace, with what each
// holds, as their Leases record it: one list call, no Pod.
func completeTables(flags genericclioptions.RESTClientGetter) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return completion(flags, func(ctx context.Context, conn *cluster.Connection) ([]string, error) {
		tables, err := status.StagedTables(ctx, conn.Client, conn.Namespace)
		if err != nil {
			return nil, err
		}
		var out []string
		for name, rec := range tables {
			out = append(out, fmt.Sprintf("%s\t%d files, %s, staged %s", name, rec.Files, output.HumanBytes(rec.Bytes), rec.At.Local().Format("2006-01-02 15:04")))
		}
		return out, nil
	})
}

// completionTimeout bounds a completion's API calls: a shell must not hang
// on an unreachable cluster.
const completionTimeout = 5 * time.Second

// defaultStageImage is the pinned stage image, or TRACEBLOC_STAGE_IMAGE when
// set (mirrors, air-gapped registries).
func defaultStageImage() string {
	if env := os.Getenv(stagepod.ImageEnv); env != "" {
		return env
	}
	return stagepod.DefaultImage
}
