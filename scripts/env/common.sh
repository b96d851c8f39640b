# shellcheck shell=bash
# Shared settings of the local environment scripts (sourced by install, up, down).
#
# Everything derives from two knobs so a second copy can run beside the first:
#   BERTH_ENV_DIR        state dir (default /tmp/berth-env)
#   BERTH_ENV_PORT_BASE  first port (default 16400); this side uses BASE+0..BASE+9,
#                        registry-up (the registry/stand-in side) uses BASE+10 and up.

BERTH_ENV_DIR="${BERTH_ENV_DIR:-/tmp/berth-env}"
BERTH_ENV_PORT_BASE="${BERTH_ENV_PORT_BASE:-16400}"
export BERTH_ENV_DIR BERTH_ENV_PORT_BASE

BERTH_CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/berth"
K8S_VERSION="1.20.2"
# Where install caches the Kubernetes binaries and up takes them from.
K8S_BIN_DIR="${BERTH_K8S_BIN_DIR:-$BERTH_CACHE_DIR/k8s-$K8S_VERSION/bin}"
K8S_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl)

PORT_ETCD=$((BERTH_ENV_PORT_BASE + 0))
PORT_ETCD_PEER=$((BERTH_ENV_PORT_BASE + 1))
PORT_APISERVER=$((BERTH_ENV_PORT_BASE + 2))
PORT_CONTROLLER_MANAGER=$((BERTH_ENV_PORT_BASE + 3))
PORT_SCHEDULER=$((BERTH_ENV_PORT_BASE + 4))
PORT_KUBELET=$((BERTH_ENV_PORT_BASE + 5))
PORT_KUBELET_HEALTHZ=$((BERTH_ENV_PORT_BASE + 6))

NODE_NAME="berth-node"
# The pod network and the node's address live on one bridge; the node IP is the bridge's
# gateway address because kubelet refuses a loopback node IP and these machines have no
# dummy interfaces. Derived from the port base so two copies don't collide.
NET_INDEX=$(((BERTH_ENV_PORT_BASE / 10) % 250))
POD_SUBNET="10.201.$NET_INDEX.0/24"
NODE_IP="10.201.$NET_INDEX.1"
BRIDGE="berth$NET_INDEX"
SERVICE_CIDR="10.32.0.0/24"
SERVICE_APISERVER_IP="10.32.0.1"
CLUSTER_DNS_IP="10.32.0.10"
SANDBOX_IMAGE="registry.berth.local/pause:1"

PKI="$BERTH_ENV_DIR/pki"
LOGS="$BERTH_ENV_DIR/logs"
PIDS="$BERTH_ENV_DIR/pids"
CTRD_DIR="$BERTH_ENV_DIR/containerd"
CTRD_SOCK="$CTRD_DIR/containerd.sock"
KUBELET_DIR="$BERTH_ENV_DIR/kubelet"

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# is_ours PID: the process is alive and its command line names our env dir (guards against a
# recycled pid belonging to something else).
is_ours() {
    local pid=$1
    [[ -r /proc/$pid/cmdline ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$BERTH_ENV_DIR"
}
