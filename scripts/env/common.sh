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

# The registry side (scripts/env/registry-up): stand-in +10, IMDS stand-in +13 (plain http).
PORT_STANDIN=$((BERTH_ENV_PORT_BASE + 10))
PORT_IMDS=$((BERTH_ENV_PORT_BASE + 13))

# The AKS cluster this node plays (the stand-in serves it over ARM; kubelet pulls images under
# AKS_IMAGE_PREFIX with the kubelet identity through sandbox/acr-credential-provider).
AKS_CLUSTER_NAME="berth-aks"
AKS_LOCATION="eastus"
AKS_RESOURCE_GROUP="berth-rg"
AKS_NODE_RESOURCE_GROUP="MC_${AKS_RESOURCE_GROUP}_${AKS_CLUSTER_NAME}_${AKS_LOCATION}"
AKS_NODE_POOL="nodepool1"
AKS_VMSS="aks-${AKS_NODE_POOL}-31415926-vmss"
AKS_KUBELET_IDENTITY_NAME="${AKS_CLUSTER_NAME}-agentpool"
AKS_KUBELET_CLIENT_ID="3c5e7a9b-2d4f-4e6a-9b1c-5d7f9a2b4c6e"
AKS_KUBELET_OBJECT_ID="8a2c4e6f-1b3d-4f5a-8c7e-2b4d6f8a0c1e"
# A second user-assigned identity that exists but is not on the node pool (wrong client id tests).
AKS_OTHER_IDENTITY_NAME="berth-other-identity"
AKS_OTHER_CLIENT_ID="6e8a0c2e-4b6d-4a8f-b0c2-7d9f1b3d5e7a"
AKS_OTHER_OBJECT_ID="b4d6f8a0-3c5e-4b7d-9f1a-4c6e8a0c2e4b"
AKS_IMAGE_PREFIX="127.0.0.1:$PORT_STANDIN/aks/"
SUBSCRIPTION_ID_DEFAULT="2b7c9e4a-1d3f-4a6b-8c5e-9f0a1b2c3d4e"
TENANT_ID_DEFAULT="6d1f5b1e-8a3c-4f0b-9e2d-1c7a4b3e5f60"

PKI="$BERTH_ENV_DIR/pki"
LOGS="$BERTH_ENV_DIR/logs"
PIDS="$BERTH_ENV_DIR/pids"
CTRD_DIR="$BERTH_ENV_DIR/containerd"
CTRD_SOCK="$CTRD_DIR/containerd.sock"
KUBELET_DIR="$BERTH_ENV_DIR/kubelet"

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Process identity. A pid file holds "PID START": START is field 22 of /proc/PID/stat (the
# process's start time in clock ticks since boot), read by the starting shell right after the fork.
# It is set at fork and kept across exec, so it names the process from its first instant on (also
# while the forked shell has not yet exec'd the program and its command line still names the
# starting script, which is what broke the older command-line check under load) and tells it
# apart from a later process that got the same pid.

# proc_stat PID: sets PROC_STATE (field 3) and PROC_START (field 22) of /proc/PID/stat; fails when
# there is no such process. Field 2 (comm) may hold spaces and parentheses, so fields are counted
# after its last ')'.
proc_stat() {
    local pid=$1 line rest
    local -a f
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    read -r line 2>/dev/null <"/proc/$pid/stat" || return 1
    rest=${line##*) }
    read -r -a f <<<"$rest"
    ((${#f[@]} >= 20)) || return 1
    PROC_STATE=${f[0]}
    PROC_START=${f[19]}
}

# is_ours PID [START]: the process we started is still alive: PID exists, is not a zombie (an
# exited child its parent has not reaped yet) and, given START, started at that very time. Without
# START (a pid file of an older scripts/env/up) its command line must name our env dir.
is_ours() {
    local pid=$1 start=${2:-} cmd
    proc_stat "$pid" || return 1
    [[ $PROC_STATE != [ZXx] ]] || return 1
    if [[ -n $start ]]; then
        [[ $PROC_START == "$start" ]]
        return
    fi
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    [[ $cmd == *"$BERTH_ENV_DIR"* ]]
}

# read_pidfile FILE: sets PIDFILE_PID and PIDFILE_START (empty in an older one-field file).
read_pidfile() {
    PIDFILE_PID='' PIDFILE_START=''
    [[ -f $1 ]] || return 1
    read -r PIDFILE_PID PIDFILE_START <"$1" 2>/dev/null || [[ -n $PIDFILE_PID ]]
}

# pidfile_ours FILE: FILE names a process that is still ours (see is_ours).
pidfile_ours() {
    read_pidfile "$1" || return 1
    is_ours "$PIDFILE_PID" "$PIDFILE_START"
}

# record_pid NAME PID: writes $PIDS/NAME.pid for PID, a child of this shell that was just started.
# A child that is gone already (exited and reaped) is recorded as such, so it never counts as ours.
record_pid() {
    local name=$1 pid=$2 start=gone
    if proc_stat "$pid"; then start=$PROC_START; fi
    mkdir -p "$PIDS"
    printf '%s %s\n' "$pid" "$start" >"$PIDS/$name.pid.tmp"
    mv -f "$PIDS/$name.pid.tmp" "$PIDS/$name.pid"
}

# spawn NAME LOGFILE CMD...: runs CMD in a session of its own (a ^C at the terminal that started
# up does not reach it), output to LOGFILE, and records its pid and start time in $PIDS/NAME.pid.
# The pid is the program's own: the forked shell execs setsid, which execs CMD without forking
# again (setsid forks only when it leads a process group, and an async child of a shell without
# job control never does).
spawn() {
    local name=$1 logfile=$2
    shift 2
    [[ $- != *m* ]] || die "spawn $name: job control is on, so setsid would fork and the pid would not be the program's"
    setsid "$@" >"$logfile" 2>&1 </dev/null &
    record_pid "$name" $!
}
