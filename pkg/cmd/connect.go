package cmd

import (
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/tracebloc/kubectl-tracebloc/pkg/cluster"
)

// connector connects the way kubectl does, only when it is called.
func connector(getter genericclioptions.RESTClientGetter, contextFlag string) cluster.Connector {
	return func() (*cluster.Connection, error) { return cluster.Connect(getter, contextFlag) }
}
