#!/usr/bin/env bash
# cluster-down.sh - stop the control plane that cluster-up.sh started in SLIPWAY_K8S_DIR, and delete its run
# dir (etcd data, certs, logs, kubeconfig). Binaries in the cache are kept.
#
#   scripts/cluster-down.sh          stop, then delete the run dir
#   scripts/cluster-down.sh --keep   stop, keep the run dir (logs) - also SLIPWAY_K8S_KEEP=1
#   scripts/cluster-down.sh --fast   SIGKILL right away instead of SIGTERM (the state is discarded anyway)
#                                    - also SLIPWAY_K8S_FAST_DOWN=1
#
# Only the PIDs cluster-up.sh recorded are signalled, and only while they still run the recorded program.
# Order: kwok, kube-scheduler and kube-controller-manager together, then kube-apiserver (it still talks to
# etcd while it shuts down), then etcd.
set -euo pipefail

CACHE=${SLIPWAY_CACHE:-$HOME/.cache/slipway}
DIR=${SLIPWAY_K8S_DIR:-$CACHE/cluster}
KEEP=${SLIPWAY_K8S_KEEP:-0}
SIG=TERM
[[ ${SLIPWAY_K8S_FAST_DOWN:-0} == 1 ]] && SIG=KILL
for arg in "$@"; do
  case $arg in
    --keep) KEEP=1 ;;
    --fast) SIG=KILL ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "cluster-down: unknown argument '$arg' (--keep, --fast)" >&2; exit 2 ;;
  esac
done

declare -A PID=()
if [[ -f $DIR/pids ]]; then
  while read -r name pid; do
    [[ -n ${pid:-} ]] && PID[$name]=$pid
  done < "$DIR/pids"
else
  echo "cluster-down: no cluster recorded in $DIR" >&2
fi

# shellcheck source=scripts/lib/proc.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/proc.sh"

# ours NAME PID: the process is alive and still the program cluster-up.sh started (PIDs get reused).
ours() {
  alive "$2" || return 1
  [[ -r /proc/$2/cmdline ]] || return 0
  local argv0
  argv0=$(tr '\0' '\n' < "/proc/$2/cmdline" | head -n 1)
  [[ ${argv0##*/} == "$1" ]]
}

stop() { # names...
  local name pids=() p i any
  for name in "$@"; do
    p=${PID[$name]:-}
    if [[ -n $p ]] && ours "$name" "$p"; then
      pids+=("$p")
      kill -"$SIG" "$p" 2>/dev/null || true
    fi
  done
  [[ ${#pids[@]} == 0 ]] && return 0
  for ((i = 0; i < 150; i++)); do
    any=0
    for p in "${pids[@]}"; do alive "$p" && any=1; done
    [[ $any == 0 ]] && return 0
    sleep 0.1
  done
  for p in "${pids[@]}"; do
    if alive "$p"; then
      echo "cluster-down: pid $p still alive after 15s, sending SIGKILL" >&2
      kill -KILL "$p" 2>/dev/null || true
    fi
  done
}

stop kwok kube-scheduler kube-controller-manager
stop kube-apiserver
stop etcd

if [[ $KEEP == 1 ]]; then
  rm -f "$DIR/pids" "$DIR"/*.pid
  echo "cluster-down: stopped; run dir kept: $DIR" >&2
elif [[ -f $DIR/.slipway-cluster ]]; then
  rm -rf "${DIR:?}"
  echo "cluster-down: stopped; removed $DIR" >&2
elif [[ -e $DIR ]]; then
  echo "cluster-down: $DIR was not made by cluster-up.sh; not deleting it" >&2
fi
