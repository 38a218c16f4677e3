package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/tracebloc/kubectl-tracebloc/pkg/category"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/ingest"
	"github.com/tracebloc/kubectl-tracebloc/pkg/output"
	"github.com/tracebloc/kubectl-tracebloc/pkg/podexec"
	"github.com/tracebloc/kubectl-tracebloc/pkg/push"
	"github.com/tracebloc/kubectl-tracebloc/pkg/spec"
	"github.com/tracebloc/kubectl-tracebloc/pkg/stagepod"
)

var pushExample = `  # Check a dataset and show what would be staged, without touching the cluster's storage
  %[1]s push ./cats_dogs --table cats_dogs --dry-run

  # Stage it in the namespace of the tracebloc client, on another context, and ingest it
  %[1]s push ./cats_dogs --table cats_dogs --context prod -n tracebloc

  # Submit the run and return; a retry with the same key attaches to it
  %[1]s push ./cats_dogs --table cats_dogs --detach --idempotency-key cats-2026-07-30

  # Only stage
  %[1]s push ./cats_dogs --table cats_dogs --stage-only

  # A held-out test set whose label column is "species"
  %[1]s push ./holdout --table cats_dogs_test --intent test --label-column species

  # Object detection: images/ plus a Pascal VOC file annotations/<stem>.xml per image, no labels.csv
  %[1]s push ./traffic --table traffic --task object_detection

  # Text: labels.csv + texts/; tabular: one CSV
  %[1]s push ./reviews --table reviews --task text_classification
  %[1]s push ./houses.csv --table houses --task tabular_regression --label-column price

  # Leave a folder out and cap the stream at 20 MB/s
  %[1]s push ./cats_dogs --table cats_dogs --exclude 'raw/' --bwlimit 20M

  # Keypoints: the size and the point count have no default
  %[1]s push ./poses --table poses --task keypoint_detection --target-size 256x256 --number-of-keypoints 17

  # One JSON object on stdout, for scripts
  %[1]s push ./cats_dogs --table cats_dogs -o json

  # A CSV whose id column identifies each record (id is otherwise reserved by the ingestor)
  %[1]s push ./patients.csv --table visits --task tabular_classification --data-id column:id

  # Pull the stage image from your mirror (air-gapped clusters)
  %[1]s push ./cats_dogs --table cats_dogs --stage-image registry.example.com/library/alpine:3.20`

const pushLong = `Stage a local dataset on the tracebloc client's shared volume and ingest it.

--task picks one of the ingestor's 16 tasks (image_classification by default;
kubectl tracebloc --help lists them). The dataset is:
  image tasks    a folder with images/ (one flat folder of .jpg, .jpeg or .png
                 files, one extension and one size) and, by task:
                 image_classification   labels.csv (filename, label)
                 object_detection       annotations/<stem>.xml (Pascal VOC) per
                                        image, no labels.csv
                 semantic_segmentation  labels.csv with mask_id, and
                                        masks/<stem>_mask.png per image
                 keypoint_detection     labels.csv with Annotation and
                                        Visibility columns
  text tasks     a folder with labels.csv and texts/ (sequences/ for
                 masked_language_modeling), plus tokenizer.json where the
                 task reads one
  tabular tasks  one CSV file, or a folder holding exactly one

What no one means to push is skipped everywhere in the dataset: .DS_Store,
._*, __MACOSX/, Thumbs.db, desktop.ini, .ipynb_checkpoints/ and .git/.
--exclude PATTERN (gitignore syntax, relative to the dataset root, repeatable)
and the lines of a .traceblocignore file in the root leave out more; the
summary and -o json count what was left out, by pattern. --bwlimit caps the
stream (20M is 20 MB/s, 100Mbit 100 megabits/s).

Everything that needs no cluster is checked first: the table name, the
ingest spec against its schema, then every file of the dataset. Then the
kubeconfig, the client release and its PVC client-pvc. A stage pod mounts the
volume, the files stream to it as tar over pods/exec, the pod checks every file's
SHA-256 and swaps the new copy in at
/data/shared/.tracebloc-staging/<table>/ in one step. A re-push sends only the
files that changed; an interrupted push resumes.

Then the ingestion run is submitted to the client's jobs-manager (through a
port-forward, with a token of the ingestor service account) and followed to
its end: the ingestor's log, its summary, the Job's result. After a clean run
the staged copy is removed. --stage-only stops after staging; --detach
submits and returns; Ctrl-C while following detaches (the run goes on).

Exit codes:
  0    ingested with no failures (staged, with --stage-only; submitted,
       with --detach), or --dry-run passed
  1    unexpected error
  2    bad flags: the spec fails its schema, or an unsafe table name
  3    local problem: the dataset, or the kubeconfig
  4    the cluster has no tracebloc client release or no usable client-pvc here
  5    your credentials lack a permission the push needs
  6    the table already holds ingested data, or the ingestor is ingesting
       it now (its lock on the volume is younger than 12 h)
  7    staging failed: stage pod, stream, extraction or verification
  8    submitting the run failed: jobs-manager unreachable, port-forward, refused
  9    the run failed, finished with failures, or its result is unknown
  130  interrupted (Ctrl-C or SIGTERM), after cleaning up; while following
       a run: detached, the run goes on`

// progressIntervalEnv spaces the progress lines written to a log.
const progressIntervalEnv = "TRACEBLOC_PROGRESS_INTERVAL"

// PushOptions are the inputs of push: the flags as written, and the typed
// push.Options that Complete and Validate make of them, once. Tests set
// Push.Connect, Push.Hooks and Printer instead of a kubeconfig.
type PushOptions struct {
	Getter  genericclioptions.RESTClientGetter
	Streams genericiooptions.IOStreams
	Hooks   Hooks

	Path              string
	Table             string
	Category          string
	Intent            string
	LabelColumn       string
	TargetSize        string
	MinSize           string
	NumberOfKeypoints int
	Schema            string
	LabelPolicy       string
	TimeColumn        string
	DataID            string
	DryRun            bool
	Output            output.Format
	Quiet             bool
	StageImage        string
	PodRunningTimeout time.Duration
	Retries           int
	Compress          string
	MaxSize           string
	Exclude           []string
	BWLimit           string
	StageOnly         bool
	Detach            bool
	IdempotencyKey    string
	KeepStaged        bool
	RunStartTimeout   time.Duration

	// changed reports whether a flag was given; Complete sets it.
	changed func(name string) bool
	// Push is what the engine runs, typed; Validate fills it.
	Push push.Options
}

// NewPushOptions returns the options of push with the flags' defaults.
func NewPushOptions(getter genericclioptions.RESTClientGetter, streams genericiooptions.IOStreams, hooks Hooks) *PushOptions {
	return &PushOptions{Getter: getter, Streams: streams, Hooks: hooks, Category: spec.DefaultCategory, LabelPolicy: spec.PolicyBucket,
		TimeColumn: spec.DefaultTimeColumn, Intent: spec.DefaultIntent, LabelColumn: spec.DefaultLabel, Output: output.Text,
		StageImage: defaultStageImage(), Compress: push.CompressAuto, PodRunningTimeout: podRunningTimeout, Retries: 3,
		RunStartTimeout: ingest.DefaultStartTimeout}
}

// NewCmdPush returns the push command.
func NewCmdPush(getter genericclioptions.RESTClientGetter, streams genericiooptions.IOStreams, hooks Hooks) *cobra.Command {
	return newCmdPush(NewPushOptions(getter, streams, hooks))
}

// newCmdPush binds the flags of push to o; tests hand it options whose
// connector and hooks are fakes.
func newCmdPush(o *PushOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "push <local-path> --table <name>",
		Short:   "Stage a local dataset on the tracebloc client's shared volume and ingest it",
		Long:    pushLong,
		Example: fmt.Sprintf(pushExample, "kubectl tracebloc"),
		Args:    oneArg("the dataset folder to push"),
		RunE: func(c *cobra.Command, args []string) error {
			o.Complete(c, args)
			if err := o.Validate(); err != nil {
				return o.refuse(err)
			}
			return o.Run(c.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Table, "table", o.Table, "table to stage the dataset as: letters, digits and _ (required)")
	alias(f, "name", "table")
	f.StringVar(&o.Category, "task", o.Category, "task of the dataset: "+strings.Join(category.Names(), ", "))
	// --category is the name of the first releases; it keeps working.
	alias(f, "category", "task")
	f.StringVar(&o.TargetSize, "target-size", o.TargetSize, "WxH every image must have (image tasks; default: the images' own size; required for keypoint_detection)")
	f.StringVar(&o.MinSize, "min-size", o.MinSize, "WxH no image may be below (image tasks)")
	f.IntVar(&o.NumberOfKeypoints, "number-of-keypoints", o.NumberOfKeypoints, "keypoints per image (keypoint_detection, required)")
	f.StringVar(&o.Schema, "schema", o.Schema, "column:TYPE,… of the CSV (tabular tasks; default: inferred from the first 5 000 rows and shown in the summary)")
	f.StringVar(&o.LabelPolicy, "label-policy", o.LabelPolicy, "how label values leave the cluster: bucket (binned) or passthrough (regression-class tasks)")
	f.StringVar(&o.TimeColumn, "time-column", o.TimeColumn, "column holding the time until the event (time_to_event_prediction); the time-series tasks' time column is always timestamp")
	f.StringVar(&o.DataID, "data-id", o.DataID, "how the ingestor identifies each record: uuid (default: a fresh id), content_hash (from the record's content: a retried run claims its rows again) or column:<name> (the values of a CSV column, e.g. column:id)")
	f.StringVar(&o.Intent, "intent", o.Intent, "what the dataset is for: train or test")
	f.StringVar(&o.LabelColumn, "label-column", o.LabelColumn, "column of labels.csv that holds the label")
	f.BoolVar(&o.DryRun, "dry-run", o.DryRun, "run every check and print the summary, stage nothing")
	output.AddOutputFlags(f, &o.Output, &o.Quiet)
	f.StringVar(&o.StageImage, "stage-image", o.StageImage, "image of the stage pod (needs "+podexec.ImageNeeds+"); env "+stagepod.ImageEnv+" sets the default")
	f.StringVar(&o.Compress, "compress", o.Compress, "compress the stream: auto (when a sample of the data shrinks), always or never; each chunk goes as zstd when the measured link is the bottleneck, else as the codec cheapest in CPU that keeps up (s2)")
	f.StringVar(&o.MaxSize, "max-size", o.MaxSize, "refuse a dataset larger than this, e.g. 10G or 500Mi (default: no cap; a push that does not fit in the volume's free space stops before it sends anything)")
	f.StringArrayVar(&o.Exclude, "exclude", o.Exclude, "leave out what this pattern matches (gitignore syntax, relative to the dataset root; repeatable; a "+dataset.IgnoreFile+" file in the root adds its lines); "+strings.Join(dataset.Leftovers, ", ")+" are always left out")
	f.StringVar(&o.BWLimit, "bwlimit", o.BWLimit, "cap the stream at this rate, bytes or bits a second as written: 20M (20 MB/s), 512Ki (512 KiB/s), 100Mbit (default: no cap)")
	f.DurationVar(&o.PodRunningTimeout, "pod-running-timeout", o.PodRunningTimeout, "how long to wait for the stage pod to run")
	f.IntVar(&o.Retries, "retries", o.Retries, "how many times to retry a broken stream; each retry resumes what was sent")
	f.BoolVar(&o.StageOnly, "stage-only", o.StageOnly, "stage the dataset and stop: submit no ingestion run")
	f.BoolVar(&o.Detach, "detach", o.Detach, "submit the ingestion run and return at once; follow it with kubectl tracebloc logs")
	f.StringVar(&o.IdempotencyKey, "idempotency-key", o.IdempotencyKey, "key of the ingestion run: the same key attaches to the run it already started (default: a fresh one)")
	f.BoolVar(&o.KeepStaged, "keep-staged", o.KeepStaged, "keep the staged copy after a successful run")
	f.DurationVar(&o.RunStartTimeout, "run-start-timeout", o.RunStartTimeout, "how long to wait for the ingestion run's pod to start")
	_ = cmd.RegisterFlagCompletionFunc("table", completeTables(o.Getter))
	_ = cmd.RegisterFlagCompletionFunc("task", completeTasks)
	_ = cmd.RegisterFlagCompletionFunc("category", completeTasks)
	cmd.ValidArgsFunction = func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return nil, cobra.ShellCompDirectiveFilterDirs
	}
	return cmd
}

// Complete takes the dataset path and what the command line says beyond
// the flags' values, and builds what is not set yet: the printer and a
// connector that reads the kubeconfig only when the push first needs the
// cluster, once the local checks passed. It reads no file.
func (o *PushOptions) Complete(c *cobra.Command, args []string) {
	o.Path = args[0]
	o.changed = c.Flags().Changed
	if !o.changed("time-column") {
		// Only a given --time-column is judged for the time-series
		// tasks; time_to_event_prediction falls back to its default.
		o.TimeColumn = ""
	}
	if o.Push.Printer == nil {
		o.Push.Printer = o.printer()
		o.Push.Printer.Quiet = o.Quiet
		if o.Output == output.JSON {
			// Stdout carries the JSON object alone; the summary goes to stderr.
			o.Push.Printer = output.New(o.Streams.ErrOut, o.Streams.ErrOut, o.Quiet)
		}
		if d, err := time.ParseDuration(os.Getenv(progressIntervalEnv)); err == nil && d > 0 {
			o.Push.Printer.LogInterval = d
		}
	}
	if o.Push.Connect == nil {
		contextFlag := ""
		if f := c.Flags().Lookup("context"); f != nil {
			contextFlag = f.Value.String()
		}
		o.Push.Connect = connector(o.Getter, contextFlag)
	}
	if o.Push.Hooks.OnPodCreated == nil {
		o.Push.Hooks.OnPodCreated = o.Hooks.OnPodCreated
	}
}

// refuse prints, with -o json, the one object a push promises on stdout for
// every failure, a flag refused before the push began too.
func (o *PushOptions) refuse(err error) error {
	r := o.Push
	r.Local = push.LocalOptions{Path: o.Path, Inputs: spec.Inputs{Table: o.Table, Category: o.Category, Intent: o.Intent}}
	return output.Finish(o.printer(), o.Output, push.Refused(r, err), err, nil)
}

// Validate reads every flag once into the typed Push, in the order the
// checks always ran: the flags that need no task, the task's own, then the
// spec's, table first. It reads no file and no cluster.
func (o *PushOptions) Validate() error {
	read, err := o.readFlags()
	if err != nil {
		return err
	}
	if err := o.validateTaskFlags(); err != nil {
		return err
	}
	// From here on a refused push's report carries its --bwlimit, as the
	// engine's report did when these checks were the engine's.
	o.Push.Stage = read.stage
	o.Push.Ingest = push.IngestOptions{StageOnly: o.StageOnly, Detach: o.Detach, IdempotencyKey: o.IdempotencyKey,
		KeepStaged: o.KeepStaged, StartTimeout: o.RunStartTimeout}
	o.Push.DryRun, o.Push.ShowSummary = o.DryRun, !o.Quiet
	parsed, err := spec.ParseFlags(spec.Flags{Table: o.Table, Category: o.Category, Intent: o.Intent, LabelColumn: o.LabelColumn,
		TargetSize: read.target, MinSize: read.min, NumberOfKeypoints: o.NumberOfKeypoints,
		Schema: o.Schema, LabelPolicy: o.LabelPolicy, TimeColumn: o.TimeColumn, DataID: o.DataID})
	for _, w := range parsed.Warnings {
		o.Push.Printer.Warnf("%s", w)
	}
	for _, n := range parsed.Notes {
		o.Push.Printer.Notef("%s", n)
	}
	if err != nil {
		return err
	}
	o.Push.Local = push.FromFlags(o.Path, parsed, read.limits, o.Exclude)
	return nil
}

// readFlags are the flags that need no task, typed.
type readFlags struct {
	stage       push.StageOptions
	target, min []int
	limits      dataset.Limits
}

// readFlags checks the flags that need no task and reads them.
func (o *PushOptions) readFlags() (readFlags, error) {
	var r readFlags
	if err := o.Output.Validate(); err != nil {
		return r, err
	}
	if o.PodRunningTimeout <= 0 {
		return r, exitcode.Errorf(exitcode.BadFlags, "--pod-running-timeout must be positive, e.g. 2m")
	}
	if o.Retries < 0 {
		return r, exitcode.Errorf(exitcode.BadFlags, "--retries must be 0 or more")
	}
	if !push.ValidCompress(o.Compress) {
		return r, exitcode.Errorf(exitcode.BadFlags, "--compress %q is not allowed: use auto, always or never", o.Compress)
	}
	r.stage = push.StageOptions{Image: o.StageImage, PodRunningTimeout: o.PodRunningTimeout, CleanupTimeout: cleanupTimeout,
		Retries: o.Retries, Compress: o.Compress, Version: Version}
	if o.BWLimit != "" {
		n, err := push.ParseBandwidth(o.BWLimit)
		if err != nil {
			return r, err
		}
		r.stage.BWLimit = n
	}
	if err := dataset.CheckExcludes(o.Exclude); err != nil {
		return r, err
	}
	if o.IdempotencyKey != "" {
		if err := ingest.ValidateKey(o.IdempotencyKey); err != nil {
			return r, err
		}
	}
	if o.StageOnly && (o.Detach || o.IdempotencyKey != "" || o.KeepStaged) {
		return r, exitcode.Errorf(exitcode.BadFlags, "--stage-only submits no run: drop --detach, --idempotency-key and --keep-staged, or drop --stage-only")
	}
	if o.RunStartTimeout <= 0 {
		return r, exitcode.Errorf(exitcode.BadFlags, "--run-start-timeout must be positive, e.g. 5m")
	}
	if o.StageImage == "" {
		return r, exitcode.Errorf(exitcode.BadFlags, "--stage-image is empty: give an image with %s", podexec.ImageNeeds)
	}
	var err error
	if r.target, err = parseSize("target-size", o.TargetSize); err != nil {
		return r, err
	}
	if r.min, err = parseSize("min-size", o.MinSize); err != nil {
		return r, err
	}
	if o.NumberOfKeypoints < 0 {
		return r, exitcode.Errorf(exitcode.BadFlags, "--number-of-keypoints must be 1 or more, e.g. --number-of-keypoints 17")
	}
	r.limits, err = o.limits()
	return r, err
}

// limits is the cap --max-size sets; none without it.
func (o *PushOptions) limits() (dataset.Limits, error) {
	if o.MaxSize == "" {
		return dataset.DefaultLimits, nil
	}
	n, err := dataset.ParseBytes(o.MaxSize)
	if err != nil {
		return dataset.Limits{}, exitcode.Errorf(exitcode.BadFlags, "--max-size %q is not a size: give a positive number of bytes with an optional unit, e.g. --max-size 10G, 500Mi or 2TiB", o.MaxSize)
	}
	return dataset.Limits{MaxTotalBytes: n}, nil
}

// validateTaskFlags refuses a task-specific flag given for a task it does
// not apply to, and a flag the task requires that is missing. An unknown
// task is left to the spec's schema, which names the tasks.
func (o *PushOptions) validateTaskFlags() error {
	task, ok := category.Lookup(o.Category)
	if !ok {
		return nil
	}
	if o.changed("label-column") && task.Manifest.Label == category.LabelNone {
		return exitcode.Errorf(exitcode.BadFlags, "--label-column does not apply to %s: the task is self-supervised, its rows carry no label and the ingestor refuses a spec that names one; drop --label-column", task.Name)
	}
	if o.changed("label-column") && task.Manifest.Label == category.LabelAnnotations {
		return exitcode.Errorf(exitcode.BadFlags, "--label-column does not apply to %s: its labels are the <object><name> of each annotation file, there is no labels.csv and the ingestor refuses a spec that names a label; drop --label-column", task.Name)
	}
	for _, name := range category.Flags() {
		if name == "time-column" && task.Family == category.FamilyTabular {
			// The time-series tasks fix their time column: push judges
			// the value given (the ingestor takes its own name).
			continue
		}
		if o.changed(name) && !task.AppliesFlag(name) {
			return exitcode.Errorf(exitcode.BadFlags, "--%s does not apply to %s: it applies to %s", name, task.Name, strings.Join(category.TasksWithFlag(name), ", "))
		}
	}
	if o.changed("number-of-keypoints") && o.NumberOfKeypoints < 1 {
		return exitcode.Errorf(exitcode.BadFlags, "--number-of-keypoints must be 1 or more, e.g. --number-of-keypoints 17")
	}
	for _, name := range task.RequiredFlags {
		if !o.changed(name) {
			return exitcode.Errorf(exitcode.BadFlags, "%s requires --%s (e.g. %s)", task.Name, name, flagExample(name))
		}
	}
	return nil
}

func flagExample(name string) string {
	switch name {
	case "target-size", "min-size":
		return "--" + name + " 256x256"
	case "number-of-keypoints":
		return "--number-of-keypoints 17"
	}
	return "--" + name + "=…"
}

// parseSize reads WxH; "" is no size.
func parseSize(flag, v string) ([]int, error) {
	if v == "" {
		return nil, nil
	}
	w, h, ok := strings.Cut(strings.ToLower(v), "x")
	wi, errW := strconv.Atoi(w)
	hi, errH := strconv.Atoi(h)
	if !ok || errW != nil || errH != nil || wi < 1 || hi < 1 || strings.HasPrefix(w, "+") || strings.HasPrefix(h, "+") {
		return nil, exitcode.Errorf(exitcode.BadFlags, "--%s %q is not WxH: give width and height in pixels, e.g. --%s 224x224", flag, v, flag)
	}
	return []int{wi, hi}, nil
}

// completeTasks offers every task with its one-line description.
func completeTasks(_ *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
	var out []string
	for _, t := range category.All() {
		if strings.HasPrefix(t.Name, prefix) {
			out = append(out, t.Name+"\t"+t.Description)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// Run runs the push and prints its result.
func (o *PushOptions) Run(ctx context.Context) error {
	report, err := push.Run(ctx, o.Push)
	return output.Finish(o.printer(), o.Output, report, err, func(p *output.Printer) { push.PrintDone(p, report) })
}

// printer is the printer of the results: main's, or one over the streams.
func (o *PushOptions) printer() *output.Printer {
	if o.Hooks.Printer == nil {
		o.Hooks.Printer = output.New(o.Streams.Out, o.Streams.ErrOut, o.Quiet)
	}
	return o.Hooks.Printer
}

// pushFailure is the object of a push that failed before it began, from
// the flags cobra parsed.
func pushFailure(c *cobra.Command, msg string, code int) *push.Report {
	table, _ := c.Flags().GetString("table")
	task, _ := c.Flags().GetString("task")
	intent, _ := c.Flags().GetString("intent")
	r := push.Refused(push.Options{Local: push.LocalOptions{Path: firstArg(c), Inputs: spec.Inputs{Table: table, Category: task, Intent: intent}}}, errors.New(msg))
	r.ExitCode = code
	return r
}
