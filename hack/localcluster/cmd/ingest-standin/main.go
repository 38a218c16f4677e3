// Command ingest-standin stands in, on the local test cluster, for the
// tracebloc client's jobs-manager and its data ingestor, whose images are
// not public. It implements their published contract against the real
// apiserver (TokenReview, the authz ConfigMap, the ConfigMap, Secret and Job
// of a run, idempotent replays) but has no database and no backend: the
// ingestor only copies the staged files and prints the summary banner.
//
//	ingest-standin jobs-manager   serve POST /internal/submit-ingestion-run on :8080
//	ingest-standin ingestor       run one ingestion from the spec in --config
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: ingest-standin jobs-manager|ingestor [flags]")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "jobs-manager":
		os.Exit(serve(os.Args[2:]))
	case "ingestor":
		fs := flag.NewFlagSet("ingestor", flag.ExitOnError)
		config := fs.String("config", "/etc/ingest/ingest.yaml", "the ingest spec")
		root := fs.String("root", "/data/shared", "the shared volume")
		_ = fs.Parse(os.Args[2:])
		os.Exit(ingest(os.Stdout, *config, *root, os.Getenv("INGESTOR_ID"), time.Sleep))
	default:
		fmt.Fprintf(os.Stderr, "unknown mode %q\n", os.Args[1])
		os.Exit(2)
	}
}

func serve(args []string) int {
	fs := flag.NewFlagSet("jobs-manager", flag.ExitOnError)
	addr := fs.String("listen", ":8080", "listen address")
	_ = fs.Parse(args)
	cfg, err := rest.InClusterConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, "in-cluster config:", err)
		return 1
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		return 1
	}
	s := &server{
		client:             client,
		namespace:          envOr("POD_NAMESPACE", "tracebloc"),
		release:            envOr("RELEASE", "tracebloc"),
		image:              envOr("INGESTOR_IMAGE", "localhost/tracebloc/ingest-standin:1"),
		pvc:                envOr("PVC", "client-pvc"),
		log:                os.Stderr,
		perIngestionTables: switchOn(os.Getenv("PER_INGESTION_TABLES")),
	}
	fmt.Fprintf(os.Stderr, "jobs-manager stand-in listening on %s (namespace %s, release %s, per-ingestion tables %v)\n", *addr, s.namespace, s.release, s.perIngestionTables)
	srv := &http.Server{Addr: *addr, Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
