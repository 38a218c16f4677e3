// Command kubectl-tracebloc is the kubectl plugin that stages datasets on a
// tracebloc client cluster. kubectl runs it as `kubectl tracebloc`.
package main

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/go-logr/logr"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/tracebloc/kubectl-tracebloc/pkg/cmd"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/output"
	"github.com/tracebloc/kubectl-tracebloc/pkg/stagepod"
)

func main() {
	os.Exit(run())
}

func run() int {
	// client-go logs transport hiccups through klog; the plugin reports what
	// matters itself, once, in plain words.
	klog.SetLogger(logr.Discard())
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	printer := output.New(os.Stdout, os.Stderr, false)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var mu sync.Mutex
	var pending string
	hooks := cmd.Hooks{Printer: printer, OnPodCreated: func(namespace, pod string) {
		mu.Lock()
		defer mu.Unlock()
		pending = stagepod.DeleteCommand(namespace, pod)
	}}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	// A closed stdout or stderr (`| head`) must not kill the process before
	// it cleans up: writes then fail instead.
	signal.Ignore(syscall.SIGPIPE)
	go watchInterrupts(sigs, clock.RealClock{}, interruptGrace, func() {
		printer.Warnf("interrupted: cleaning up (interrupt again to exit at once)")
		cancel()
	}, func() {
		mu.Lock()
		todo := pending
		mu.Unlock()
		if todo != "" {
			printer.Warnf("exiting without cleanup; finish it with: %s", todo)
		}
		os.Exit(exitcode.Interrupted)
	})

	return cmd.Execute(ctx, cmd.NewRootCmd(streams, hooks), printer, os.Args[1:])
}
