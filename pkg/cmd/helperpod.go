package cmd

import (
	"time"

	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/output"
	"github.com/tracebloc/kubectl-tracebloc/pkg/podexec"
	"github.com/tracebloc/kubectl-tracebloc/pkg/stagepod"
)

// HelperPodOptions are what status, cleanup and verify share: the clients,
// the helper Pod's image and wait, its exec seam, the printer and main's
// hook. Complete fills the clients and the printer; tests set them.
type HelperPodOptions struct {
	Image             string
	PodRunningTimeout time.Duration

	Clients
	// NewRunner replaces pods/exec into the helper Pod (tests); nil is exec.
	NewRunner func(pod string) podexec.Runner
	Printer   *output.Printer
	// OnPodCreated is told each helper Pod's name before it is created,
	// so a second Ctrl-C can print how to delete it.
	OnPodCreated func(namespace, pod string)
}

// newHelperPodOptions are the options of a command built by NewRootCmd.
func newHelperPodOptions(getter genericclioptions.RESTClientGetter, hooks Hooks) HelperPodOptions {
	return HelperPodOptions{Clients: Clients{Getter: getter}, Printer: hooks.Printer, OnPodCreated: hooks.OnPodCreated,
		PodRunningTimeout: podRunningTimeout}
}

// addFlags adds --stage-image and --pod-running-timeout; what says what
// the helper Pod does.
func (h *HelperPodOptions) addFlags(f *pflag.FlagSet, what string) {
	f.StringVar(&h.Image, "stage-image", defaultStageImage(), "image of the helper pod that "+what)
	f.DurationVar(&h.PodRunningTimeout, "pod-running-timeout", podRunningTimeout, "how long to wait for the helper pod to run")
}

// validateWait checks --pod-running-timeout.
func (h *HelperPodOptions) validateWait() error {
	if h.PodRunningTimeout <= 0 {
		return exitcode.Errorf(exitcode.BadFlags, "--pod-running-timeout must be positive, e.g. 2m")
	}
	return nil
}

// completeHelper builds what is not set yet: the printer (quiet as asked)
// and the client.
func (h *HelperPodOptions) completeHelper(streams genericiooptions.IOStreams, quiet bool) error {
	if h.Printer == nil {
		h.Printer = output.New(streams.Out, streams.ErrOut, quiet)
	}
	h.Printer.Quiet = quiet
	if h.PodRunningTimeout == 0 {
		h.PodRunningTimeout = podRunningTimeout
	}
	return h.complete()
}

// helper are the engine's options of the helper Pod; the engine sets the
// volume and the purpose.
func (h *HelperPodOptions) helper() stagepod.HelperOptions {
	p := h.Printer
	return stagepod.HelperOptions{Base: stagepod.Base{Client: h.Client, Config: h.Config, Namespace: h.Namespace, Image: h.Image,
		Timeout: h.PodRunningTimeout, CleanupTimeout: cleanupTimeout, Version: Version, Note: p.Notef, Warn: p.Warnf,
		NewRunner: h.NewRunner, OnCreated: h.OnPodCreated}}
}
