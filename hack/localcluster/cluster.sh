#!/usr/bin/env bash
# A real single-node Kubernetes cluster for the tests and the demo: etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler and kubelet built from
# source (this folder's Go module), containerd and runc from Debian, all in a
# network namespace joined to the host by a veth pair (198.18.0.0/24).
#
#   cluster.sh up                  start what is not running (idempotent)
#   cluster.sh down                stop everything by PID, remove all state
#   cluster.sh restart apiserver   restart one component and wait until healthy
#   cluster.sh status              print each component's state
#   cluster.sh small-volume        (re)install the small-volume fixture alone
#
# State, logs and PID files live in $LC_STATE (default <repo>/.localcluster).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
STATE="${LC_STATE:-$REPO/.localcluster}"
BIN="$STATE/bin"
PKI="$STATE/pki"
RUN="$STATE/run"
LOGS="$STATE/logs"
NETNS=tracebloc-lc
HOST_IF=tblc0
NS_IF=tblc1
HOST_IP=198.18.0.1
NODE_IP=198.18.0.2
NODE=tracebloc-node
SERVER="https://$NODE_IP:6443"
CTRD_SOCK="$STATE/containerd/containerd.sock"
IMAGE_TAG=localhost/tracebloc/busybox:1
# Stage images for tests: one with only what the agent's bootstrap needs (sh,
# uname, cat, chmod, mv, mkdir: no gzip, tar or sha256sum), one whose chmod
# does nothing (so /tmp behaves as if mounted noexec), one that reports a
# machine the agent is not built for.
MINIMAL_TAG=localhost/tracebloc/minimal:1
NOEXEC_TAG=localhost/tracebloc/noexec:1
ARCH_TAG=localhost/tracebloc/riscv:1
MINIMAL_WITHOUT=(sha256sum tar gzip gunzip zcat awk find sort xargs sed cmp grep tr stat wc head tail cut)
ADMIN_KUBECONFIG="$STATE/admin.kubeconfig"
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet)

log() { printf 'localcluster: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

kubectl_admin() { "$BIN/kubectl" --kubeconfig "$ADMIN_KUBECONFIG" "$@"; }

# --- processes ---------------------------------------------------------------

pid_of() { cat "$RUN/$1.pid" 2>/dev/null || true; }

running() {
	local pid
	pid="$(pid_of "$1")"
	[[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

# start NAME CMD...: run CMD in the cluster's network namespace, in the
# background, with its PID in run/NAME.pid and its output in logs/NAME.log.
start() {
	local name="$1"
	shift
	if running "$name"; then
		return 0
	fi
	log "starting $name (log: $LOGS/$name.log)"
	nsenter --net="/var/run/netns/$NETNS" "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
	echo $! >"$RUN/$name.pid"
}

stop() {
	local name="$1" pid
	pid="$(pid_of "$name")"
	if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.2
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$RUN/$name.pid"
}

# wait_for WHAT SECONDS LOG CMD...: retry CMD until it succeeds, or fail
# pointing at LOG.
wait_for() {
	local what="$1" secs="$2" logf="$3"
	shift 3
	local deadline=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		if ((SECONDS >= deadline)); then
			log "last lines of $logf:"
			tail -n 20 "$logf" >&2 || true
			die "$what not ready after ${secs}s: see $logf"
		fi
		sleep 0.5
	done
}

# --- host set-up -------------------------------------------------------------

ensure_packages() {
	local missing=()
	command -v containerd >/dev/null || missing+=(containerd)
	command -v runc >/dev/null || missing+=(runc)
	[[ -x /usr/lib/cni/bridge ]] || missing+=(containernetworking-plugins)
	[[ -x /bin/busybox ]] || missing+=(busybox-static)
	command -v nsenter >/dev/null || missing+=(util-linux)
	command -v ip >/dev/null || missing+=(iproute2)
	command -v openssl >/dev/null || missing+=(openssl)
	if ((${#missing[@]})); then
		log "installing ${missing[*]}"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
	fi
}

build_binaries() {
	local want=(etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl) b missing=0
	for b in "${want[@]}"; do [[ -x "$BIN/$b" ]] || missing=1; done
	# Go's build cache makes a rebuild of unchanged sources quick; skip it
	# entirely when every binary is newer than go.sum.
	if ((missing == 0)) && [[ "$BIN/kubelet" -nt "$HERE/go.sum" ]]; then
		return 0
	fi
	log "building etcd and Kubernetes v1.37.2 (cold: about 8 minutes on 2 cores)"
	mkdir -p "$BIN"
	(cd "$HERE" && go build -o "$BIN/" ./cmd/...)
}

ensure_netns() {
	if [[ ! -e "/var/run/netns/$NETNS" ]]; then
		ip netns add "$NETNS"
	fi
	if ! ip link show "$HOST_IF" >/dev/null 2>&1; then
		ip netns exec "$NETNS" ip link del "$NS_IF" 2>/dev/null || true
		ip link add "$HOST_IF" type veth peer name "$NS_IF"
		ip link set "$NS_IF" netns "$NETNS"
	fi
	ip addr replace "$HOST_IP/24" dev "$HOST_IF"
	ip link set "$HOST_IF" up
	nsenter --net="/var/run/netns/$NETNS" sh -c "
		ip link set lo up
		ip addr replace $NODE_IP/24 dev $NS_IF
		ip link set $NS_IF up
		ip route replace default via $HOST_IP
		sysctl -qw net.ipv4.ip_forward=1
	"
	modprobe br_netfilter 2>/dev/null || true
}

# --- certificates and configs ------------------------------------------------

cert() { # cert NAME SUBJECT [SAN]
	local name="$1" subj="$2" san="${3:-}"
	[[ -f "$PKI/$name.crt" ]] && return 0
	openssl genrsa -out "$PKI/$name.key" 2048 2>/dev/null
	openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
	local ext="$PKI/$name.ext"
	{
		echo "basicConstraints=CA:FALSE"
		echo "keyUsage=critical,digitalSignature,keyEncipherment"
		if [[ -n "$san" ]]; then
			echo "extendedKeyUsage=serverAuth,clientAuth"
			echo "subjectAltName=$san"
		else
			echo "extendedKeyUsage=clientAuth"
		fi
	} >"$ext"
	openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
		-days 3650 -sha256 -extfile "$ext" -out "$PKI/$name.crt" 2>/dev/null
}

kubeconfig() { # kubeconfig FILE CERTNAME
	local file="$1" name="$2"
	[[ -f "$file" ]] && return 0
	cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: tracebloc-local
  cluster:
    server: $SERVER
    certificate-authority: $PKI/ca.crt
users:
- name: $name
  user:
    client-certificate: $PKI/$name.crt
    client-key: $PKI/$name.key
contexts:
- name: tracebloc-local
  context: {cluster: tracebloc-local, user: $name, namespace: tracebloc}
current-context: tracebloc-local
EOF
}

ensure_pki() {
	mkdir -p "$PKI"
	if [[ ! -f "$PKI/ca.crt" ]]; then
		log "creating certificates"
		openssl genrsa -out "$PKI/ca.key" 2048 2>/dev/null
		openssl req -x509 -new -key "$PKI/ca.key" -subj "/CN=tracebloc-local-ca" -days 3650 -sha256 -out "$PKI/ca.crt" 2>/dev/null
	fi
	cert apiserver "/CN=kube-apiserver" \
		"IP:$NODE_IP,IP:127.0.0.1,IP:10.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost"
	cert admin "/O=system:masters/CN=kubernetes-admin"
	cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
	cert controller-manager "/CN=system:kube-controller-manager"
	cert scheduler "/CN=system:kube-scheduler"
	cert kubelet-client "/O=system:nodes/CN=system:node:$NODE"
	cert kubelet-serving "/CN=$NODE" "IP:$NODE_IP,DNS:$NODE"
	if [[ ! -f "$PKI/sa.key" ]]; then
		openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
		openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
	fi
	kubeconfig "$ADMIN_KUBECONFIG" admin
	kubeconfig "$STATE/controller-manager.kubeconfig" controller-manager
	kubeconfig "$STATE/scheduler.kubeconfig" scheduler
	kubeconfig "$STATE/kubelet.kubeconfig" kubelet-client
}

write_configs() {
	mkdir -p "$STATE/containerd" "$STATE/cni/conf" "$STATE/cni/ipam" "$STATE/kubelet"
	cat >"$STATE/containerd/config.toml" <<EOF
version = 2
root = "$STATE/containerd/root"
state = "$STATE/containerd/state"
[grpc]
  address = "$CTRD_SOCK"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$IMAGE_TAG"
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$STATE/cni/conf"
EOF
	cat >"$STATE/cni/conf/10-tracebloc.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "tracebloc-local",
  "plugins": [
    {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": "$STATE/cni/ipam", "ranges": [[{"subnet": "10.88.0.0/16"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "loopback"}
  ]
}
EOF
	cat >"$STATE/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: 10250
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $PKI/kubelet-serving.crt
tlsPrivateKeyFile: $PKI/kubelet-serving.key
containerRuntimeEndpoint: unix://$CTRD_SOCK
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: "1Mi"
  nodefs.available: "1%"
  imagefs.available: "1%"
  nodefs.inodesFree: "1%"
clusterDomain: cluster.local
clusterDNS: [10.0.0.10]
resolvConf: /etc/resolv.conf
healthzBindAddress: 127.0.0.1
serializeImagePulls: false
EOF
}

# --- images ------------------------------------------------------------------

import_image() { # import_image TAG [WITHOUT...]
	local tag="$1"
	shift
	if ctr --address "$CTRD_SOCK" -n k8s.io images ls -q 2>/dev/null | grep -qx "$tag"; then
		return 0
	fi
	local tarball="$STATE/images/${tag//[\/:]/_}.tar"
	"$HERE/image.sh" /bin/busybox "$tag" "$tarball" "$@"
	ctr --address "$CTRD_SOCK" -n k8s.io images import "$tarball" >/dev/null
	log "imported $tag"
}

import_images() {
	import_image "$IMAGE_TAG"
	import_image "$MINIMAL_TAG" "${MINIMAL_WITHOUT[@]}"
	import_image "$NOEXEC_TAG" "chmod=exit 0"
	import_image "$ARCH_TAG" "uname=echo riscv64"
}

# The jobs-manager and ingestor stand-in (cmd/ingest-standin; see README.md):
# a static binary in a busybox image tagged with the binary's hash, so a
# changed stand-in rolls the fixture's Deployment.
STANDIN_REPO=localhost/tracebloc/ingest-standin
STANDIN_TAG=""
build_standin() {
	mkdir -p "$STATE/standin"
	(cd "$HERE" && CGO_ENABLED=0 go build -trimpath -o "$STATE/standin/ingest-standin" ./cmd/ingest-standin)
	STANDIN_TAG="$STANDIN_REPO:$(sha256sum "$STATE/standin/ingest-standin" | cut -c1-12)"
	export EXTRA_BIN="$STATE/standin/ingest-standin"
	import_image "$STANDIN_TAG"
	unset EXTRA_BIN
}

# --- components --------------------------------------------------------------

start_etcd() {
	mkdir -p "$STATE/etcd"
	start etcd "$BIN/etcd" --name=tracebloc-local --data-dir="$STATE/etcd" \
		--listen-client-urls=http://127.0.0.1:2379 --advertise-client-urls=http://127.0.0.1:2379 \
		--listen-peer-urls=http://127.0.0.1:2380 --initial-advertise-peer-urls=http://127.0.0.1:2380 \
		--initial-cluster=tracebloc-local=http://127.0.0.1:2380 --unsafe-no-fsync --log-level=warn
}

start_apiserver() {
	start kube-apiserver "$BIN/kube-apiserver" \
		--advertise-address="$NODE_IP" --bind-address=0.0.0.0 --secure-port=6443 \
		--etcd-servers=http://127.0.0.1:2379 --service-cluster-ip-range=10.0.0.0/24 \
		--client-ca-file="$PKI/ca.crt" --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
		--kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
		--kubelet-certificate-authority="$PKI/ca.crt" --kubelet-preferred-address-types=InternalIP \
		--service-account-issuer=https://kubernetes.default.svc --service-account-key-file="$PKI/sa.pub" \
		--service-account-signing-key-file="$PKI/sa.key" --authorization-mode=Node,RBAC \
		--enable-admission-plugins=NodeRestriction --allow-privileged=true --v=1
}

apiserver_ready() { kubectl_admin get --raw /readyz; }

start_controller_manager() {
	start kube-controller-manager "$BIN/kube-controller-manager" \
		--kubeconfig="$STATE/controller-manager.kubeconfig" \
		--authentication-kubeconfig="$STATE/controller-manager.kubeconfig" \
		--authorization-kubeconfig="$STATE/controller-manager.kubeconfig" \
		--service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
		--cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
		--controllers='*,-nodeipam' --use-service-account-credentials=true --leader-elect=false \
		--bind-address=127.0.0.1 --v=1
}

start_scheduler() {
	start kube-scheduler "$BIN/kube-scheduler" --kubeconfig="$STATE/scheduler.kubeconfig" \
		--authentication-kubeconfig="$STATE/scheduler.kubeconfig" \
		--authorization-kubeconfig="$STATE/scheduler.kubeconfig" \
		--leader-elect=false --bind-address=127.0.0.1 --v=1
}

start_containerd() {
	start containerd containerd --config "$STATE/containerd/config.toml"
	wait_for containerd 30 "$LOGS/containerd.log" ctr --address "$CTRD_SOCK" version
}

start_kubelet() {
	start kubelet "$BIN/kubelet" --config="$STATE/kubelet/config.yaml" \
		--kubeconfig="$STATE/kubelet.kubeconfig" --root-dir="$STATE/kubelet/root" \
		--hostname-override="$NODE" --node-ip="$NODE_IP" --v=1
}

node_ready() {
	kubectl_admin get node "$NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' | grep -qx True
}

# --- the tracebloc fixture ---------------------------------------------------

install_fixture() {
	mkdir -p "$STATE/volumes/client-pvc"
	chmod 2777 "$STATE/volumes/client-pvc"
	sed -e "s|@VOLUME@|$STATE/volumes/client-pvc|g" -e "s|@IMAGE@|$IMAGE_TAG|g" -e "s|@NODE@|$NODE|g" \
		-e "s|@STANDIN_IMAGE@|$STANDIN_TAG|g" -e "s|@APISERVER_HOST@|$NODE_IP|g" \
		"$HERE/fixture.yaml" | kubectl_admin apply -f - >/dev/null
	wait_for "client-pvc Bound" 60 "$LOGS/kube-controller-manager.log" \
		sh -c "'$BIN/kubectl' --kubeconfig '$ADMIN_KUBECONFIG' -n tracebloc get pvc client-pvc -o jsonpath='{.status.phase}' | grep -qx Bound"
	wait_for "jobs-manager Deployment" 120 "$LOGS/kubelet.log" \
		kubectl_admin -n tracebloc rollout status deployment/tracebloc-jobs-manager --timeout=5s
	install_local_pv_fixture
	install_small_pv_fixture
}

# seed_local_volume fills the local PV's directory with what other tracebloc
# workloads leave there: files and folders of another owner, group and mode,
# and a setgid folder. The e2e tests read them back from this host path.
seed_local_volume() {
	local dir=$1
	mkdir -p "$dir"
	chmod 2777 "$dir"
	mkdir -p "$dir/ingested/cats" "$dir/models"
	printf 'id,label\n1,cat\n' >"$dir/ingested/cats/part-0.csv"
	printf 'weights\n' >"$dir/models/model.bin"
	printf 'note\n' >"$dir/README.txt"
	chown -R 1234:4321 "$dir/ingested" "$dir/models" "$dir/README.txt"
	chmod 0750 "$dir/ingested" "$dir/ingested/cats"
	chmod 2750 "$dir/models"
	chmod 0640 "$dir/ingested/cats/part-0.csv" "$dir/models/model.bin" "$dir/README.txt"
}

install_local_pv_fixture() {
	local dir="$STATE/volumes/local-client-pvc"
	seed_local_volume "$dir"
	sed -e "s|@VOLUME@|$dir|g" -e "s|@IMAGE@|$IMAGE_TAG|g" -e "s|@NODE@|$NODE|g" \
		"$HERE/fixture-local-pv.yaml" | kubectl_admin apply -f - >/dev/null
	wait_for "tracebloc-local jobs-manager Deployment" 120 "$LOGS/kubelet.log" \
		kubectl_admin -n tracebloc-local rollout status deployment/tracebloc-local-jobs-manager --timeout=5s
}

# The small volume: a tmpfs of SMALL_SIZE and SMALL_INODES inodes, so that a
# dataset can be larger than a real volume's free space. Mounted once; a
# re-run leaves the mount (and what a test left on it) as it is.
SMALL_SIZE=8Mi
SMALL_INODES=2048

install_small_pv_fixture() {
	local dir="$STATE/volumes/small-client-pvc"
	mkdir -p "$dir"
	if ! mountpoint -q "$dir"; then
		mount -t tmpfs -o "size=${SMALL_SIZE%i},nr_inodes=$SMALL_INODES,mode=2777" tracebloc-small "$dir"
	fi
	chmod 2777 "$dir"
	sed -e "s|@VOLUME@|$dir|g" -e "s|@IMAGE@|$IMAGE_TAG|g" -e "s|@SIZE@|$SMALL_SIZE|g" \
		"$HERE/fixture-small-pv.yaml" | kubectl_admin apply -f - >/dev/null
	wait_for "tracebloc-small jobs-manager Deployment" 120 "$LOGS/kubelet.log" \
		kubectl_admin -n tracebloc-small rollout status deployment/tracebloc-small-jobs-manager --timeout=5s
}

write_env() {
	cat >"$STATE/env" <<EOF
export KUBECONFIG=$ADMIN_KUBECONFIG
export TRACEBLOC_STAGE_IMAGE=$IMAGE_TAG
export LOCALCLUSTER_MINIMAL_IMAGE=$MINIMAL_TAG
export LOCALCLUSTER_NOEXEC_IMAGE=$NOEXEC_TAG
export LOCALCLUSTER_ARCH_IMAGE=$ARCH_TAG
export LOCALCLUSTER_STATE=$STATE
export LOCALCLUSTER_STANDIN_IMAGE=$STANDIN_TAG
export PATH=$BIN:\$PATH
EOF
}

# --- commands ----------------------------------------------------------------

up() {
	[[ $EUID -eq 0 ]] || die "run as root: the cluster needs a network namespace, mounts and containerd"
	mkdir -p "$STATE" "$RUN" "$LOGS" "$STATE/images"
	ensure_packages
	build_binaries
	ensure_netns
	ensure_pki
	write_configs
	start_etcd
	start_apiserver
	wait_for kube-apiserver 120 "$LOGS/kube-apiserver.log" apiserver_ready
	start_controller_manager
	start_scheduler
	start_containerd
	import_images
	build_standin
	start_kubelet
	wait_for "node $NODE Ready" 120 "$LOGS/kubelet.log" node_ready
	install_fixture
	write_env
	log "ready: source $STATE/env"
}

down() {
	# No controller may bring pods back; then let the kubelet tear its pods
	# down (CNI releases their network namespaces), and stop it.
	stop kube-controller-manager
	stop kube-scheduler
	if running kubelet && running kube-apiserver; then
		kubectl_admin delete pods --all --all-namespaces --grace-period=0 --force --wait=false >/dev/null 2>&1 || true
		local deadline=$((SECONDS + 30))
		while ((SECONDS < deadline)) && [[ -n "$(ctr --address "$CTRD_SOCK" -n k8s.io tasks ls -q 2>/dev/null)" ]]; do
			sleep 0.5
		done
	fi
	if running kubelet; then stop kubelet; fi
	if running containerd; then
		local id
		for id in $(ctr --address "$CTRD_SOCK" -n k8s.io tasks ls -q 2>/dev/null); do
			ctr --address "$CTRD_SOCK" -n k8s.io tasks kill -s KILL "$id" >/dev/null 2>&1 || true
		done
		sleep 1
		for id in $(ctr --address "$CTRD_SOCK" -n k8s.io tasks ls -q 2>/dev/null); do
			ctr --address "$CTRD_SOCK" -n k8s.io tasks delete -f "$id" >/dev/null 2>&1 || true
		done
	fi
	local c
	for c in kubelet containerd kube-scheduler kube-controller-manager kube-apiserver etcd; do stop "$c"; done
	unmount_state
	ip link del "$HOST_IF" 2>/dev/null || true
	ip netns del "$NETNS" 2>/dev/null || true
	# Keep the built binaries and the test logs; everything else is state.
	find "$STATE" -mindepth 1 -maxdepth 1 ! -name bin ! -name '*.log' -exec rm -rf {} + 2>/dev/null || true
	log "stopped; state removed (binaries and test logs kept in $STATE)"
}

unmount_state() {
	local m
	[[ -d "$STATE" ]] || return 0
	# Deepest first, so nested mounts come off before their parents.
	for m in $(awk -v s="$STATE/" 'index($2, s) == 1 { print $2 }' /proc/mounts | sort -r); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
}

restart() {
	case "${1:-}" in
	apiserver | kube-apiserver)
		stop kube-apiserver
		start_apiserver
		wait_for kube-apiserver 120 "$LOGS/kube-apiserver.log" apiserver_ready
		;;
	kubelet)
		stop kubelet
		start_kubelet
		wait_for "node $NODE Ready" 120 "$LOGS/kubelet.log" node_ready
		;;
	*) die "restart what? apiserver or kubelet" ;;
	esac
}

status() {
	local c
	for c in "${COMPONENTS[@]}"; do
		if running "$c"; then echo "$c running (pid $(pid_of "$c"))"; else echo "$c stopped"; fi
	done
}

# Recover from a run that was killed: PID files of dead processes go, and a
# half-started cluster is brought down before it is brought up again.
recover() {
	local c stale=0
	for c in "${COMPONENTS[@]}"; do
		if [[ -f "$RUN/$c.pid" ]] && ! running "$c"; then
			stale=1
		fi
	done
	if ((stale)); then
		log "found leftovers of an earlier run: cleaning them up first"
		down
	fi
}

case "${1:-}" in
up) recover; up ;;
down) down ;;
restart) restart "${2:-}" ;;
status) status ;;
small-volume) install_small_pv_fixture ;;
*) die "usage: $0 up|down|restart apiserver|restart kubelet|status|small-volume" ;;
esac
