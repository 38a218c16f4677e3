//go:build linux

// Command tracebloc-stage-agent is the Pod side of a push. The plugin embeds
// it (built for linux/amd64 and linux/arm64), delivers it into the stage Pod's
// /tmp and runs it over pods/exec; see pkg/agent.
package main

import (
	"os"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent"
)

func main() {
	os.Exit(agent.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
