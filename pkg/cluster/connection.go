package cluster

import (
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// Connection is a live client for the chosen context and namespace.
type Connection struct {
	Client    kubernetes.Interface
	Config    *rest.Config
	Namespace string
	Context   string
}

// Connector opens the connection when a command first needs it: push asks
// only once the local checks passed, so a broken kubeconfig is reported after
// the dataset is known to be good.
type Connector func() (*Connection, error)

// ClientQPS and ClientBurst bound the requests of one command, as kubectl's
// own commands are bounded.
const (
	ClientQPS   = 50
	ClientBurst = 100
)

// Connect resolves the kubeconfig, context and namespace the way kubectl
// does. contextFlag is the --context value, "" for the current context.
func Connect(getter genericclioptions.RESTClientGetter, contextFlag string) (*Connection, error) {
	loader := getter.ToRawKubeConfigLoader()
	cfg, err := getter.ToRESTConfig()
	if err != nil {
		return nil, exitcode.Errorf(exitcode.Local, "no usable kubeconfig: %v: set KUBECONFIG or --kubeconfig, and --context if the current context is not the cluster", err)
	}
	// client-go's default of 5 requests/s (burst 10) is made for
	// controllers that run for days; a push asks a burst of ~25
	// questions once, and would wait on the limiter for no one.
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = ClientQPS, ClientBurst
	}
	ns, _, err := loader.Namespace()
	if err != nil {
		return nil, exitcode.Errorf(exitcode.Local, "reading the namespace from the kubeconfig: %v", err)
	}
	ctxName := contextFlag
	if ctxName == "" {
		if raw, err := loader.RawConfig(); err == nil {
			ctxName = raw.CurrentContext
		}
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, exitcode.Errorf(exitcode.Local, "building a client from the kubeconfig: %v", err)
	}
	return &Connection{Client: client, Config: cfg, Namespace: ns, Context: ctxName}, nil
}
