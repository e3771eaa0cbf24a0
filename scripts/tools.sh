#!/usr/bin/env bash
# tools.sh - build, once, the pinned third-party binaries Slipway runs against, into a cache directory
# outside the clone, and print where they are. A binary that is already there is never rebuilt, so only the
# first run on a machine is slow (Kubernetes ~12-24 min, Temporal CLI ~7 CPU-min).
#
#   scripts/tools.sh temporal k8s kwok      build what is missing, print nothing but progress on stderr
#   scripts/tools.sh path temporal          print the path of one binary (after building it)
#
# Everything comes from the Go module proxy; nothing is downloaded from anywhere else.
set -euo pipefail

CACHE=${SLIPWAY_CACHE:-$HOME/.cache/slipway}
TEMPORAL_CLI_VERSION=v1.5.1       # github.com/temporalio/cli (Server 1.29.1, UI 2.42.1)
K8S_VERSION=v1.37.2               # k8s.io/kubernetes; staging modules at v0.37.2
ETCD_VERSION=v3.6.16              # go.etcd.io/etcd/server/v3
KWOK_VERSION=v0.8.0               # sigs.k8s.io/kwok
TRIVY_VERSION=v0.74.0             # github.com/aquasecurity/trivy (needs GOEXPERIMENT=jsonv2 to build)
GRYPE_VERSION=v0.121.2            # github.com/anchore/grype
CRANE_VERSION=v0.22.1             # github.com/google/go-containerregistry (the version in go.mod)
COSIGN_VERSION=v2.6.5             # github.com/sigstore/cosign/v2 (tests check Slipway's signatures with it)
BIN=$CACHE/bin
export GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
mkdir -p "$BIN" "$CACHE/build"

log() { printf '[tools] %s\n' "$*" >&2; }

# lock serialises concurrent builds of the same tool (make test and make demo started together).
lock() { exec {LOCKFD}>"$CACHE/build/$1.lock"; flock "$LOCKFD"; }
unlock() { flock -u "$LOCKFD"; }

build_temporal() {
  local out=$BIN/temporal-$TEMPORAL_CLI_VERSION
  [[ -x $out/temporal ]] && return
  lock temporal
  if [[ ! -x $out/temporal ]]; then
    log "building temporal CLI $TEMPORAL_CLI_VERSION (first run only, several minutes)"
    mkdir -p "$out"
    GOBIN=$out go install -trimpath -ldflags='-s -w' "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION"
  fi
  unlock
}

# k8s.io/kubernetes cannot be `go install`ed (its go.mod replaces the staging modules with local paths), so a
# scratch module requires it and maps every staging module to its published v0.Y.Z.
build_k8s() {
  local out=$BIN/k8s-$K8S_VERSION cmds=(kube-apiserver kube-controller-manager kube-scheduler) missing=() c
  for c in "${cmds[@]}"; do [[ -x $out/$c ]] || missing+=("$c"); done
  [[ ${#missing[@]} == 0 ]] && return
  lock k8s
  missing=(); for c in "${cmds[@]}"; do [[ -x $out/$c ]] || missing+=("$c"); done
  if [[ ${#missing[@]} -gt 0 ]]; then
    log "building ${missing[*]} $K8S_VERSION (first run only, 12-24 minutes)"
    local mod=$CACHE/build/k8s-$K8S_VERSION staging=v0.${K8S_VERSION#v1.} gomod
    mkdir -p "$mod" "$out"
    gomod=$(cd "$mod" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
    {
      printf 'module k8sbins\n\ngo 1.26.0\n\ntool (\n'
      printf '\tk8s.io/kubernetes/cmd/%s\n' "${cmds[@]}"
      printf ')\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$K8S_VERSION"
      grep -E '^\s+k8s\.io/[a-z0-9-]+ v0\.0\.0( |$)' "$gomod" | awk -v v="$staging" '{printf "\t%s => %s %s\n", $1, $1, v}'
      printf ')\n'
    } > "$mod/go.mod"
    (cd "$mod" && go mod tidy)
    local major=${K8S_VERSION#v} minor ld="-s -w" p
    major=${major%%.*}; minor=${K8S_VERSION#v*.}; minor=${minor%%.*}
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ld+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=$major -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
    done
    (cd "$mod" && go build -trimpath -ldflags="$ld" -o "$out/" "${missing[@]/#/k8s.io/kubernetes/cmd/}")
  fi
  unlock
}

build_etcd() {
  local out=$BIN/etcd-$ETCD_VERSION
  [[ -x $out/etcd ]] && return
  lock etcd
  if [[ ! -x $out/etcd ]]; then
    log "building etcd $ETCD_VERSION"
    local mod=$CACHE/build/etcd-$ETCD_VERSION
    mkdir -p "$mod" "$out"
    printf 'module etcdbin\n\ngo 1.26.0\n\ntool go.etcd.io/etcd/server/v3\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" > "$mod/go.mod"
    (cd "$mod" && go mod tidy && go build -trimpath -ldflags='-s -w' -o "$out/etcd" go.etcd.io/etcd/server/v3)
  fi
  unlock
}

# kwok's standalone binary has no built-in stages; the ones kwokctl would pass are copied from its module.
build_kwok() {
  local out=$BIN/kwok-$KWOK_VERSION
  [[ -x $out/kwok && -s $out/stages.yaml ]] && return
  lock kwok
  if [[ ! -x $out/kwok || ! -s $out/stages.yaml ]]; then
    log "building kwok $KWOK_VERSION"
    mkdir -p "$out"
    GOBIN=$out go install -trimpath -ldflags='-s -w' "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
    local src f
    src=$(cd "$CACHE/build" && go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')/kustomize/stage
    for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
             pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
      echo '---'; cat "$src/$f"
    done > "$out/stages.yaml.tmp"
    mv "$out/stages.yaml.tmp" "$out/stages.yaml"
  fi
  unlock
}

# Trivy and Grype are pinned CLIs, built outside the project's go.mod: linking both into one program costs a
# dependency conflict, jsonv2 process-wide and a 385 MB binary (docs/scanners.md).
build_trivy() {
  local out=$BIN/trivy-$TRIVY_VERSION
  [[ -x $out/trivy ]] && return
  lock trivy
  if [[ ! -x $out/trivy ]]; then
    log "building trivy $TRIVY_VERSION (first run only, about 15 CPU-minutes)"
    mkdir -p "$out"
    GOEXPERIMENT=jsonv2 GOBIN=$out go install -trimpath \
      -ldflags="-s -w -X github.com/aquasecurity/trivy/pkg/version/app.ver=$TRIVY_VERSION" \
      "github.com/aquasecurity/trivy/cmd/trivy@$TRIVY_VERSION"
  fi
  unlock
}

build_grype() {
  local out=$BIN/grype-$GRYPE_VERSION
  [[ -x $out/grype ]] && return
  lock grype
  if [[ ! -x $out/grype ]]; then
    log "building grype $GRYPE_VERSION (first run only, about 7 CPU-minutes)"
    mkdir -p "$out"
    GOBIN=$out go install -trimpath -ldflags="-s -w -X main.version=$GRYPE_VERSION" \
      "github.com/anchore/grype/cmd/grype@$GRYPE_VERSION"
  fi
  unlock
}

# crane is go-containerregistry's CLI; `crane registry serve` is the loopback OCI registry of the demo, and
# `crane ls`/`crane digest` show what a release pushed and pinned.
build_crane() {
  local out=$BIN/crane-$CRANE_VERSION
  [[ -x $out/crane ]] && return
  lock crane
  if [[ ! -x $out/crane ]]; then
    log "building crane $CRANE_VERSION (first run only, under a minute)"
    mkdir -p "$out"
    GOBIN=$out go install -trimpath -ldflags="-s -w" "github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION"
  fi
  unlock
}

# cosign is only used by tests: it checks that `cosign verify --key` accepts the signatures Slipway writes.
build_cosign() {
  local out=$BIN/cosign-$COSIGN_VERSION
  [[ -x $out/cosign ]] && return
  lock cosign
  if [[ ! -x $out/cosign ]]; then
    log "building cosign $COSIGN_VERSION (first run only, about 4 minutes)"
    mkdir -p "$out"
    GOBIN=$out go install -trimpath -ldflags="-s -w" "github.com/sigstore/cosign/v2/cmd/cosign@$COSIGN_VERSION"
  fi
  unlock
}

# Prometheus and Alertmanager come from Debian's packages (prometheus 2.42, prometheus-alertmanager 0.25), not
# the Go module proxy: installed once with apt-get, which starts nothing (no systemd here); tests and the demo
# run the binaries themselves on loopback.
build_prometheus() {
  [[ -x /usr/bin/prometheus && -x /usr/bin/prometheus-alertmanager ]] && return
  lock prometheus
  if [[ ! -x /usr/bin/prometheus || ! -x /usr/bin/prometheus-alertmanager ]]; then
    log "installing prometheus and prometheus-alertmanager with apt-get (first run only, under a minute)"
    local sudo=()
    [[ $(id -u) == 0 ]] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager >&2
  fi
  unlock
}

path_of() {
  case $1 in
    temporal) echo "$BIN/temporal-$TEMPORAL_CLI_VERSION/temporal" ;;
    etcd) echo "$BIN/etcd-$ETCD_VERSION/etcd" ;;
    kube-apiserver|kube-controller-manager|kube-scheduler) echo "$BIN/k8s-$K8S_VERSION/$1" ;;
    kwok) echo "$BIN/kwok-$KWOK_VERSION/kwok" ;;
    kwok-stages) echo "$BIN/kwok-$KWOK_VERSION/stages.yaml" ;;
    trivy) echo "$BIN/trivy-$TRIVY_VERSION/trivy" ;;
    grype) echo "$BIN/grype-$GRYPE_VERSION/grype" ;;
    crane) echo "$BIN/crane-$CRANE_VERSION/crane" ;;
    cosign) echo "$BIN/cosign-$COSIGN_VERSION/cosign" ;;
    prometheus) echo /usr/bin/prometheus ;;
    alertmanager) echo /usr/bin/prometheus-alertmanager ;;
    *) echo "tools.sh: unknown tool '$1' (temporal, etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok, kwok-stages, trivy, grype, crane, cosign, prometheus, alertmanager)" >&2; return 2 ;;
  esac
}

build() {
  case $1 in
    temporal) build_temporal ;;
    etcd) build_etcd ;;
    k8s|kube-apiserver|kube-controller-manager|kube-scheduler) build_k8s ;;
    kwok|kwok-stages) build_kwok ;;
    cluster) build_etcd; build_k8s; build_kwok ;;
    trivy) build_trivy ;;
    grype) build_grype ;;
    scanners) build_trivy; build_grype ;;
    crane) build_crane ;;
    cosign) build_cosign ;;
    prometheus|alertmanager) build_prometheus ;;
    all) build_temporal; build_etcd; build_k8s; build_kwok; build_trivy; build_grype; build_crane ;;
    *) echo "tools.sh: unknown tool '$1' (temporal, etcd, k8s, kwok, cluster, trivy, grype, scanners, crane, cosign, prometheus, all)" >&2; return 2 ;;
  esac
}

if [[ ${1:-} == path ]]; then
  [[ $# == 2 ]] || { echo "usage: tools.sh path TOOL" >&2; exit 2; }
  case $2 in kwok-stages) build kwok ;; *) build "$2" ;; esac
  path_of "$2"
  exit 0
fi
[[ $# -gt 0 ]] || set -- all
for t in "$@"; do build "$t"; done
