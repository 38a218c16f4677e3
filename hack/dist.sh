#!/usr/bin/env bash
# dist.sh VERSION: release archives for every platform krew serves, with the
# binary, LICENSE, README.md and the kubectl completion helper, plus checksums.
set -euo pipefail
version="$1"
cd "$(dirname "$0")/.."
rm -rf dist
mkdir -p dist
for target in linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64; do
	os="${target%/*}" arch="${target#*/}"
	work="$(mktemp -d)"
	bin=kubectl-tracebloc
	[[ "$os" == windows ]] && bin=kubectl-tracebloc.exe
	CGO_ENABLED=0 GOOS="$os" GOARCH="$arch" go build -trimpath \
		-ldflags "-s -w -X github.com/tracebloc/kubectl-tracebloc/pkg/cmd.Version=$version" \
		-o "$work/$bin" ./cmd/kubectl-tracebloc
	cp LICENSE README.md hack/kubectl_complete-tracebloc "$work/"
	tar -C "$work" --owner=0 --group=0 --numeric-owner -czf "dist/kubectl-tracebloc_${os}_${arch}.tar.gz" .
	rm -rf "$work"
done
(cd dist && sha256sum ./*.tar.gz | sed 's|  \./|  |' >checksums.txt)
echo "dist: $(ls dist | wc -l) files for $version"
