#!/usr/bin/env bash
# image.sh BUSYBOX TAG OUT.tar [WITHOUT...]: build a one-layer image holding a
# static busybox and its applets, as a docker-archive that `ctr images import`
# reads. The cluster uses it as the pause image, the stage image and the
# fixture's workload image: no registry is reachable from the test machines.
#
# With EXTRA_BIN set, that (static) binary is added as /bin/ingest-standin:
# the jobs-manager and ingestor stand-in image.
#
# Applets named in WITHOUT are left out, and /bin/sh is then dash (busybox sh
# would still find its own applets), so tests can try a stage image that lacks
# a tool. A WITHOUT entry NAME=BODY replaces the applet NAME with a shell
# script running BODY (e.g. "uname=echo riscv64"), for images that misbehave.
set -euo pipefail
busybox="$1" tag="$2" out="$3"
shift 3
without=" $* "
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
mkdir -p "$root/bin" "$root/tmp" "$root/data" "$root/etc" "$root/proc" "$root/sys" "$root/dev"
chmod 1777 "$root/tmp"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
	[[ "$applet" == busybox || "$without" == *" $applet "* || "$without" == *" $applet="* ]] || ln -s busybox "$root/bin/$applet"
done
for entry in "$@"; do
	if [[ "$entry" == *=* ]]; then
		printf '#!/bin/sh\n%s\n' "${entry#*=}" >"$root/bin/${entry%%=*}"
		chmod 755 "$root/bin/${entry%%=*}"
	fi
done
if [[ -n "${without// /}" ]]; then
	rm -f "$root/bin/sh"
	cp /bin/dash "$root/bin/sh"
	for lib in $(ldd /bin/dash | grep -o '/[^ ]*'); do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
fi
if [[ -n "${EXTRA_BIN:-}" ]]; then
	cp "$EXTRA_BIN" "$root/bin/ingest-standin"
	chmod 0755 "$root/bin/ingest-standin"
fi
echo "nobody:x:65532:65532:nobody:/tmp:/bin/sh" >"$root/etc/passwd"
echo "nobody:x:65532:" >"$root/etc/group"
mkdir -p "$work/image"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$root" -cf "$work/layer.tar" .
layer_sha="$(sha256sum "$work/layer.tar" | cut -d' ' -f1)"
mkdir -p "$work/image/$layer_sha"
mv "$work/layer.tar" "$work/image/$layer_sha/layer.tar"
cat >"$work/config.json" <<JSON
{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z",
 "config":{"Env":["PATH=/bin"],"Cmd":["/bin/sh","-c","trap 'exit 0' TERM INT; while :; do sleep 3600 & wait; done"],"WorkingDir":"/"},
 "rootfs":{"type":"layers","diff_ids":["sha256:$layer_sha"]}}
JSON
config_sha="$(sha256sum "$work/config.json" | cut -d' ' -f1)"
mv "$work/config.json" "$work/image/$config_sha.json"
cat >"$work/image/manifest.json" <<JSON
[{"Config":"$config_sha.json","RepoTags":["$tag"],"Layers":["$layer_sha/layer.tar"]}]
JSON
mkdir -p "$(dirname "$out")"
tar -C "$work/image" -cf "$out" .
