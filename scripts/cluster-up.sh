#!/usr/bin/env bash
# cluster-up.sh - start a real, container-free Kubernetes control plane on loopback:
#   etcd + kube-apiserver + kube-controller-manager + kube-scheduler + kwok (one fake Node)
# KWOK drives Pods to Running/Ready without running anything, so Deployments roll out for real; see
# docs/local-cluster.md for how smoke checks reach a "pod" (cmd/localpods).
#
#   scripts/cluster-up.sh           start; the last line of stdout is the kubeconfig path
#   scripts/cluster-up.sh --reuse   if the cluster in SLIPWAY_K8S_DIR is already up and healthy, print its
#                                   kubeconfig and exit 0 (otherwise start it)
#
# Environment (everything that differs between parallel clusters):
#   SLIPWAY_CACHE           tool and state cache (default ~/.cache/slipway)
#   SLIPWAY_K8S_DIR         run dir: pki, etcd data, logs, pids, kubeconfig (default $SLIPWAY_CACHE/cluster)
#   SLIPWAY_K8S_PORT_BASE   first of 10 loopback ports (default 16440): etcd client +0, etcd peer +1,
#                           kube-apiserver +3 (16443), kube-controller-manager +4, kube-scheduler +5
#   SLIPWAY_K8S_NODES       number of fake nodes (default 1)
#   SLIPWAY_K8S_NAMESPACES  namespaces to create once the API server is up (space- or comma-separated)
#   SLIPWAY_K8S_WAIT        seconds to wait for each component (default 120)
# Binaries come from scripts/tools.sh (built once into the cache; the first run takes 12-24 minutes).
# Stop with scripts/cluster-down.sh (same environment).
set -euo pipefail

SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${SLIPWAY_CACHE:-$HOME/.cache/slipway}
DIR=${SLIPWAY_K8S_DIR:-$CACHE/cluster}
BASE=${SLIPWAY_K8S_PORT_BASE:-16440}
NODES=${SLIPWAY_K8S_NODES:-1}
read -r -a NAMESPACES <<< "${SLIPWAY_K8S_NAMESPACES:-}"
NAMESPACES=("${NAMESPACES[@]//,/ }")
read -r -a NAMESPACES <<< "${NAMESPACES[*]}"
WAIT=${SLIPWAY_K8S_WAIT:-120}
ETCD_PORT=$((BASE + 0))
ETCD_PEER_PORT=$((BASE + 1))
API_PORT=$((BASE + 3))
KCM_PORT=$((BASE + 4))
SCHED_PORT=$((BASE + 5))
MARKER=.slipway-cluster # cluster-down.sh only deletes a directory that has it

REUSE=0
for arg in "$@"; do
  case $arg in
    --reuse) REUSE=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "cluster-up: unknown argument '$arg' (--reuse)" >&2; exit 2 ;;
  esac
done

T0=$(date +%s.%N)
log() { printf '[cluster-up +%5.1fs] %s\n' "$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')" "$*" >&2; }

PKI=$DIR/pki
KUBECONFIG_PATH=$DIR/kubeconfig
CURL=(curl -sS --max-time 2 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key")
api() { "${CURL[@]}" "https://127.0.0.1:$API_PORT$1" "${@:2}"; }

# ---------------------------------------------------------------- already running?
# shellcheck source=scripts/lib/proc.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/proc.sh"
running_pids() { # prints "name pid" for every recorded process that is still alive
  [[ -f $DIR/pids ]] || return 0
  local name pid
  while read -r name pid; do
    [[ -n ${pid:-} ]] && alive "$pid" && echo "$name $pid"
  done < "$DIR/pids"
  return 0
}
running=$(running_pids)
if [[ -n $running ]]; then
  if [[ $REUSE == 1 ]]; then
    if api /readyz -f >/dev/null 2>&1; then
      log "reusing the running cluster in $DIR (kube-apiserver https://127.0.0.1:$API_PORT)"
      echo "$KUBECONFIG_PATH"
      exit 0
    fi
    echo "cluster-up: a cluster in $DIR is running but its kube-apiserver (port $API_PORT) is not ready;" \
      "run SLIPWAY_K8S_DIR='$DIR' scripts/cluster-down.sh first" >&2
    exit 1
  fi
  echo "cluster-up: a cluster is already running in $DIR ($(echo "$running" | tr '\n' ' '));" \
    "use --reuse, or stop it with SLIPWAY_K8S_DIR='$DIR' scripts/cluster-down.sh" >&2
  exit 1
fi

# ---------------------------------------------------------------- binaries and ports
ETCD=$("$SCRIPTS/tools.sh" path etcd)
APISERVER=$("$SCRIPTS/tools.sh" path kube-apiserver)
KCM=$("$SCRIPTS/tools.sh" path kube-controller-manager)
SCHEDULER=$("$SCRIPTS/tools.sh" path kube-scheduler)
KWOK=$("$SCRIPTS/tools.sh" path kwok)
KWOK_STAGES=$("$SCRIPTS/tools.sh" path kwok-stages)
log "binaries ready"

for p in "$ETCD_PORT" "$ETCD_PEER_PORT" "$API_PORT" "$KCM_PORT" "$SCHED_PORT"; do
  if port_busy "$p"; then
    echo "cluster-up: port 127.0.0.1:$p is already in use by another process (another cluster?);" \
      "stop it, or set SLIPWAY_K8S_PORT_BASE to the first of 10 free ports (now $BASE)" >&2
    exit 1
  fi
done

# ---------------------------------------------------------------- run dir, pki, kubeconfig
if [[ -e $DIR && ! -f $DIR/$MARKER && -n $(ls -A "$DIR") ]]; then
  echo "cluster-up: $DIR exists, is not empty and was not made by cluster-up.sh; refusing to use it" >&2
  exit 1
fi
rm -rf "${DIR:?}/pki" "$DIR/etcd-data" "$DIR/logs" "$DIR/pids" "$DIR/kubeconfig" "$DIR/apiserver-certs" "$DIR"/*.pid
mkdir -p "$PKI" "$DIR/logs"
touch "$DIR/$MARKER"

(
  cd "$PKI"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.crt \
    -days 3650 -subj "/CN=slipway-local-ca" 2>/dev/null
  sign() { # name subject extensions
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$1.key" -out "$1.csr" \
      -subj "$2" 2>/dev/null
    printf '%b' "$3" > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$1.crt" -days 3650 \
      -extfile "$1.ext" 2>/dev/null
  }
  sign apiserver "/CN=kube-apiserver" "subjectAltName=DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:127.0.0.1,IP:10.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment"
  sign admin "/O=system:masters/CN=kubernetes-admin" "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment"
  openssl genrsa -out sa.key 2048 2>/dev/null
  openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
)
# Into variables first: a failing command substitution inside the here-document would go unnoticed.
CA_DATA=$(base64 -w0 < "$PKI/ca.crt")
ADMIN_CERT_DATA=$(base64 -w0 < "$PKI/admin.crt")
ADMIN_KEY_DATA=$(base64 -w0 < "$PKI/admin.key")
cat > "$KUBECONFIG_PATH" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: slipway-local
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $CA_DATA
users:
- name: admin
  user:
    client-certificate-data: $ADMIN_CERT_DATA
    client-key-data: $ADMIN_KEY_DATA
contexts:
- name: slipway-local
  context: {cluster: slipway-local, user: admin}
current-context: slipway-local
EOF
chmod 600 "$KUBECONFIG_PATH"
log "pki and kubeconfig written to $DIR"

# ---------------------------------------------------------------- processes
# launched NAME: print the PID of the process start() launched as NAME once it runs NAME's program (its
# launching shell writes the PID file, then execs the program; cluster-down.sh signals a PID only while it runs
# the recorded program). Waits up to 5s; fails if the process dies or never gets there.
launched() {
  local i pid argv0
  for ((i = 0; i < 100; i++)); do
    if [[ -s $DIR/$1.pid ]]; then
      pid=$(< "$DIR/$1.pid")
      argv0=$(tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null | head -n 1) || argv0=
      if [[ ${argv0##*/} == "$1" ]]; then
        echo "$pid"
        return 0
      fi
      alive "$pid" || return 1
    fi
    sleep 0.05
  done
  return 1
}
start() { # name cmd...
  local name=$1 pid; shift
  STARTING=$name
  # A new session, so the process outlives this script and gets no terminal signals; it writes its own PID.
  # shellcheck disable=SC2016 # $$, $0 and $@ are the inner shell's
  setsid bash -c 'echo $$ > "$0"; exec "$@"' "$DIR/$name.pid" "$@" > "$DIR/logs/$name.log" 2>&1 < /dev/null \
    {OUT}>&- {ERR}>&- &
  pid=$(launched "$name") || { STARTING=; fail "$name did not start"; }
  echo "$name $pid" >> "$DIR/pids"
  STARTING=
}
fail() {
  echo "cluster-up: $*" >&2
  local f
  for f in "$DIR"/logs/*.log; do
    [[ -s $f ]] || continue
    echo "---- last lines of $f" >&2
    tail -n 20 "$f" >&2
  done
  exit 1 # stop_started (the EXIT trap) stops what was started
}
# stop_started (the EXIT trap from the first start on): unless the cluster got ready, stop what this script
# started (cluster-down.sh --keep, so the logs stay) - when a step fails, when set -e ends the script, and on
# INT/TERM (Ctrl-C, a killed `make demo`) - so that no etcd or kube-apiserver is left behind holding the ports.
# A trap runs inside whatever command was running, say a probe with its output sent to /dev/null, so it writes
# to the script's own stdout and stderr, saved as OUT and ERR (which start() closes for what it launches: a
# server holding the stdout of `cluster-up.sh | tail -n 1` would keep tail waiting).
exec {OUT}>&1 {ERR}>&2
READY=0
STARTING=
stop_started() {
  local rc=$? pid
  [[ $READY == 1 ]] && return 0
  trap '' INT TERM # a second Ctrl-C must not cut the clean-up short
  exec 1>&"$OUT" 2>&"$ERR"
  if [[ -n $STARTING ]] && pid=$(launched "$STARTING"); then # interrupted inside start()
    echo "$STARTING $pid" >> "$DIR/pids"
  fi
  echo "cluster-up: stopping what was started; logs are kept in $DIR/logs" >&2
  SLIPWAY_K8S_DIR=$DIR "$SCRIPTS/cluster-down.sh" --keep >&2 || true
  exit "$rc"
}
# serves NAME PORT: the process started as NAME holds the listening socket on PORT, so a probe of PORT that
# passes reached it, not another server that took the port after the check above. When another process holds
# the port, FOREIGN says so (wait_for's time-out message adds it).
FOREIGN=
serves() {
  local name pid
  FOREIGN=
  while read -r name pid; do
    [[ $name == "$1" ]] || continue
    listens "$pid" "$2" && return 0
    port_busy "$2" && FOREIGN="127.0.0.1:$2 is held by another process, not by $1 (pid $pid); stop it, or set SLIPWAY_K8S_PORT_BASE"
    return 1
  done < "$DIR/pids"
  return 1
}
wait_for() { # description seconds cmd...
  local desc=$1 secs=$2 i name pid; shift 2
  for ((i = 0; i < secs * 5; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    while read -r name pid; do
      alive "$pid" || fail "$name (pid $pid) exited while waiting for $desc"
    done < "$DIR/pids"
    sleep 0.2
  done
  fail "timed out after ${secs}s waiting for $desc${FOREIGN:+: $FOREIGN}"
}

trap stop_started EXIT
trap 'echo "cluster-up: interrupted (SIGINT)" >&"$ERR"; exit 130' INT
trap 'echo "cluster-up: terminated (SIGTERM)" >&"$ERR"; exit 143' TERM
start etcd "$ETCD" --name=node0 --data-dir="$DIR/etcd-data" \
  --listen-client-urls="http://127.0.0.1:$ETCD_PORT" --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster="node0=http://127.0.0.1:$ETCD_PEER_PORT" \
  --unsafe-no-fsync=true --auto-compaction-retention=1 --quota-backend-bytes=$((1 << 30)) --log-level=warn
etcd_ok() { serves etcd "$ETCD_PORT" && curl -sf --max-time 2 "http://127.0.0.1:$ETCD_PORT/health"; }
wait_for "etcd on 127.0.0.1:$ETCD_PORT" "$WAIT" etcd_ok
log "etcd healthy (127.0.0.1:$ETCD_PORT)"

start kube-apiserver "$APISERVER" \
  --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
  --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$API_PORT" \
  --cert-dir="$DIR/apiserver-certs" \
  --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
  --client-ca-file="$PKI/ca.crt" \
  --requestheader-client-ca-file="$PKI/ca.crt" --requestheader-allowed-names=front-proxy-client \
  --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
  --requestheader-extra-headers-prefix=X-Remote-Extra- \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
  --service-cluster-ip-range=10.0.0.0/24 \
  --authorization-mode=RBAC \
  --disable-admission-plugins=ServiceAccount \
  --endpoint-reconciler-type=none \
  --allow-privileged=true \
  --enable-priority-and-fairness=false \
  --profiling=false
apiserver_ok() { serves kube-apiserver "$API_PORT" && api /readyz -f; }
wait_for "kube-apiserver /readyz on 127.0.0.1:$API_PORT" "$WAIT" apiserver_ok
log "kube-apiserver ready (https://127.0.0.1:$API_PORT)"

start kube-controller-manager "$KCM" \
  --kubeconfig="$KUBECONFIG_PATH" \
  --authentication-kubeconfig="$KUBECONFIG_PATH" --authorization-kubeconfig="$KUBECONFIG_PATH" \
  --bind-address=127.0.0.1 --secure-port="$KCM_PORT" \
  --leader-elect=false \
  --root-ca-file="$PKI/ca.crt" --service-account-private-key-file="$PKI/sa.key" \
  --service-cluster-ip-range=10.0.0.0/24 \
  --kube-api-qps=500 --kube-api-burst=1000 \
  --profiling=false
start kube-scheduler "$SCHEDULER" \
  --kubeconfig="$KUBECONFIG_PATH" \
  --authentication-kubeconfig="$KUBECONFIG_PATH" --authorization-kubeconfig="$KUBECONFIG_PATH" \
  --bind-address=127.0.0.1 --secure-port="$SCHED_PORT" \
  --leader-elect=false --profiling=false
start kwok "$KWOK" --kubeconfig="$KUBECONFIG_PATH" --config="$KWOK_STAGES" \
  --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
  --cidr=10.244.0.0/16 --node-ip=10.0.0.2 --node-lease-duration-seconds=40

for ((n = 0; n < NODES; n++)); do
  api /api/v1/nodes -f -X POST -H 'Content-Type: application/json' -d @- > /dev/null <<EOF || fail "creating node kwok-node-$n"
{"apiVersion":"v1","kind":"Node","metadata":{"name":"kwok-node-$n",
  "annotations":{"node.alpha.kubernetes.io/ttl":"0","kwok.x-k8s.io/node":"fake"},
  "labels":{"kubernetes.io/hostname":"kwok-node-$n","kubernetes.io/os":"linux","kubernetes.io/arch":"amd64","type":"kwok"}},
 "status":{"allocatable":{"cpu":"32","memory":"256Gi","pods":"110"},"capacity":{"cpu":"32","memory":"256Gi","pods":"110"}}}
EOF
done

for ns in "${NAMESPACES[@]}"; do
  api /api/v1/namespaces -f -X POST -H 'Content-Type: application/json' \
    -d "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$ns\"}}" > /dev/null ||
    fail "creating namespace $ns"
done

# kube-controller-manager and kube-scheduler serve self-signed certs; their /healthz needs no credentials.
kcm_ok() { serves kube-controller-manager "$KCM_PORT" && curl -skf --max-time 2 "https://127.0.0.1:$KCM_PORT/healthz"; }
sched_ok() { serves kube-scheduler "$SCHED_PORT" && curl -skf --max-time 2 "https://127.0.0.1:$SCHED_PORT/healthz"; }
nodes_ready() {
  local n
  for ((n = 0; n < NODES; n++)); do
    api "/api/v1/nodes/kwok-node-$n" -f | tr -d ' \n' | grep -o '{[^{}]*"type":"Ready"[^{}]*}' |
      grep -q '"status":"True"' || return 1
  done
}
sa_ok() { api /api/v1/namespaces/default/serviceaccounts/default -f; }
wait_for "kube-controller-manager /healthz on 127.0.0.1:$KCM_PORT" "$WAIT" kcm_ok
wait_for "kube-scheduler /healthz on 127.0.0.1:$SCHED_PORT" "$WAIT" sched_ok
wait_for "$NODES kwok node(s) Ready" "$WAIT" nodes_ready
wait_for "the default ServiceAccount" "$WAIT" sa_ok
READY=1
log "control plane ready: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok ($NODES fake node(s))${NAMESPACES[*]:+; namespaces ${NAMESPACES[*]}}; logs in $DIR/logs"
echo "$KUBECONFIG_PATH"
