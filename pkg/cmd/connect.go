package cmd

import (
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/push"
)

// ClientQPS and ClientBurst bound the requests of one command, as kubectl's
// own commands are bounded.
const (
	ClientQPS   = 50
	ClientBurst = 100
)

// connector resolves the kubeconfig, context and namespace the way kubectl
// does, only when push asks for it.
func connector(getter genericclioptions.RESTClientGetter, contextFlag string) push.Connector {
	return func() (*push.Connection, error) {
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
		return &push.Connection{Client: client, Config: cfg, Namespace: ns, Context: ctxName}, nil
	}
}
