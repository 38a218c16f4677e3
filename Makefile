# kubectl-tracebloc. `make demo` and `make test` are the whole set-up on a
# fresh Linux machine (root, Debian packages installed on demand).
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)

# Release tags are vX.Y.Z; between tags the version is still semver (krew
# requires it): v0.0.0-<commit>.
GIT_DESCRIBE := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
VERSION ?= $(if $(filter v%,$(GIT_DESCRIBE)),$(GIT_DESCRIBE),v0.0.0-$(GIT_DESCRIBE))
LDFLAGS := -s -w -X github.com/tracebloc/kubectl-tracebloc/pkg/cmd.Version=$(VERSION)
BIN := bin/kubectl-tracebloc
LC := hack/localcluster/cluster.sh
LC_ENV := .localcluster/env
GOLANGCI_VERSION := v2.15.0
GOLANGCI := bin/tools/golangci-lint

KREW_VERSION := v0.4.3

.PHONY: all agents build test unit e2e lint cluster-up cluster-down demo bench dist krew-manifest krew-check screenshot clean

all: build

# The stage agent, for every node architecture, gzip-compressed where the
# plugin embeds it (pkg/agentbin/bin, committed: `go install` builds a plugin
# that stages). The same source and Go toolchain give the same bytes; commit
# bin/ after `make agents` whenever the agent's source changes (pkg/agentbin's
# test fails until then).
agents:
	go run ./hack/agents

# Rebuilds the agent only when its source changed since bin/ was committed.
build:
	go run ./hack/agents -if-stale
	CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/kubectl-tracebloc

# Every test: lint, unit tests with the race detector, then the end-to-end
# suite against the local real cluster (started if it is not running).
test: lint unit e2e

unit:
	go test -race -count=1 ./...
	cd hack/localcluster && go test -count=1 ./cmd/ingest-standin/

e2e: build cluster-up
	source $(LC_ENV) && TRACEBLOC_PLUGIN=$(CURDIR)/$(BIN) go test -tags e2e -count=1 -timeout 45m -v ./test/e2e/ 2>&1 | tee .localcluster/e2e.log | grep -E '^(=== RUN|--- |PASS|FAIL|ok|panic|\s+\S+_test.go|        \S)' ; exit $${PIPESTATUS[0]}

$(GOLANGCI):
	GOBIN=$(CURDIR)/bin/tools go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)

lint: $(GOLANGCI)
	@test -z "$$(gofmt -l cmd pkg schema hack test)" || { gofmt -l cmd pkg schema hack test; echo "gofmt: the files above need formatting"; exit 1; }
	go vet ./...
	go vet -tags e2e ./test/...
	$(GOLANGCI) run ./...
	go test -count=1 ./internal/layering/ ./internal/deadapi/
	go run ./hack/agents -check

cluster-up:
	bash $(LC) up

cluster-down:
	bash $(LC) down

# The whole job on a fresh machine: the cluster, a sample dataset of real
# JPEG images, a push, and how to look at the result.
demo: build cluster-up
	@set -e; source $(LC_ENV); dir=$$(mktemp -d /tmp/tracebloc-demo.XXXXXX); \
	table=cats_dogs_$$(date +%Y%m%d_%H%M%S); \
	go run ./hack/gendataset -images 200 -size 64 "$$dir/cats_dogs"; \
	echo "+ kubectl tracebloc push $$dir/cats_dogs --table $$table -n tracebloc"; \
	PATH=$(CURDIR)/bin:$$PATH kubectl tracebloc push "$$dir/cats_dogs" --table $$table -n tracebloc; \
	echo; echo "Look at the result (the jobs-manager here is a stand-in, see hack/localcluster):"; \
	echo "  source $(LC_ENV)"; \
	echo "  kubectl -n tracebloc get pods                      # no stage pod is left"; \
	echo "  ls -la .localcluster/volumes/client-pvc/$$table/   # the ingested copy"; \
	echo "  PATH=\$$PWD/bin:\$$PATH kubectl tracebloc runs -n tracebloc"; \
	echo "  PATH=\$$PWD/bin:\$$PATH kubectl tracebloc push $$dir/cats_dogs --table $${table}_v2 -n tracebloc --stage-only   # stage only"; \
	echo "  PATH=\$$PWD/bin:\$$PATH kubectl tracebloc status -n tracebloc"

bench: build cluster-up
	source $(LC_ENV) && TRACEBLOC_PLUGIN=$(CURDIR)/$(BIN) go test -tags e2e -run '^$$' -bench . -benchtime 1x -count 1 -timeout 60m ./test/bench/ | tee .localcluster/bench.log

# Release archives for every platform, with checksums.
dist:
	bash hack/dist.sh $(VERSION)

# .krew.yaml rendered for the archives in dist/, as the release bot would.
krew-manifest: dist
	go run ./hack/krewmanifest .krew.yaml $(VERSION) dist dist/tracebloc.yaml

# krew's own validator (structure; its install step would download), then an offline install with real krew into a
# throw-away KREW_ROOT, run through a real kubectl.
krew-check: krew-manifest
	GOBIN=$(CURDIR)/bin/tools go install sigs.k8s.io/krew/cmd/validate-krew-manifest@$(KREW_VERSION)
	GOBIN=$(CURDIR)/bin/tools go install sigs.k8s.io/krew/cmd/krew@$(KREW_VERSION)
	bin/tools/validate-krew-manifest -manifest dist/tracebloc.yaml -skip-install
	@set -e; root=$$(mktemp -d); trap 'rm -rf $$root' EXIT; tools=$$(mktemp -d); \
	cp bin/tools/krew $$tools/kubectl-krew; cp .localcluster/bin/kubectl $$tools/kubectl; \
	export KREW_ROOT=$$root PATH=$$root/bin:$$tools:$$PATH; \
	kubectl krew install --manifest=dist/tracebloc.yaml --archive=dist/kubectl-tracebloc_linux_amd64.tar.gz; \
	kubectl tracebloc version; \
	kubectl plugin list 2>&1 | grep kubectl-tracebloc; \
	ls $$root/store/tracebloc/*/kubectl_complete-tracebloc >/dev/null || { echo "krew-check: the completion helper was not installed"; exit 1; }; \
	echo "krew-check: manifest valid, archive installed offline, plugin runs through kubectl"

# docs/img/push.svg: a real push on the local cluster, as a terminal shows it.
screenshot: build cluster-up
	@set -e; source $(LC_ENV); dir=$$(mktemp -d /tmp/tracebloc-shot.XXXXXX); \
	go run ./hack/gendataset -images 200 -size 64 "$$dir/cats_dogs"; \
	{ echo "$$ kubectl tracebloc push ./cats_dogs --table cats_dogs -n tracebloc"; \
	  cd $$dir && PATH=$(CURDIR)/bin:$$PATH kubectl tracebloc push ./cats_dogs --table cats_dogs -n tracebloc 2>&1; } \
	  | go run ./hack/termshot > docs/img/push.svg; rm -rf $$dir

clean:
	rm -rf bin dist
