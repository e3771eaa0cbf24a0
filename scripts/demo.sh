#!/usr/bin/env bash
# demo.sh - Slipway end to end on this machine, with real parts:
#   the Temporal dev server + Web UI, a real Kubernetes control plane on loopback (etcd, kube-apiserver,
#   controller-manager, scheduler, KWOK), an OCI registry on loopback (crane registry serve), localpods running
#   the demo app for every pod, and the worker with the pinned Trivy and Grype on offline fixture databases;
#   then four releases through the starter, each image built from a Go binary (cmd/mkimage) and pushed first:
#   v1.0.0 (first, goes to blue), v1.1.0 (switches to green), v1.2.0-broken (fails its preview checks and rolls
#   back: traffic stays on green) and v1.3.0, whose binary links a module with a CRITICAL advisory (blocked by
#   the scan stage before anything is deployed).
#
#   scripts/demo.sh up     start everything (fresh cluster; Temporal keeps its history) and run the releases;
#                          everything stays up so you can look around; `scripts/demo.sh down` stops it
#   scripts/demo.sh down   stop the worker, localpods, the cluster and the Temporal server
#
# Ports and directories come from the same variables the other scripts read (SLIPWAY_TEMPORAL_PORT,
# SLIPWAY_TEMPORAL_UI_PORT, SLIPWAY_K8S_PORT_BASE, SLIPWAY_K8S_DIR, SLIPWAY_TEMPORAL_DIR), plus
# SLIPWAY_REGISTRY_PORT (default 5001, the port examples/demo/slipway.yaml names; another port makes the demo
# use a copy of the spec with that port) and SLIPWAY_DEMO_DIR for logs, pids, scan reports and the registry's
# blobs (default ~/.cache/slipway/demo).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
CACHE=${SLIPWAY_CACHE:-$HOME/.cache/slipway}
DIR=${SLIPWAY_DEMO_DIR:-$CACHE/demo}
export SLIPWAY_K8S_DIR=${SLIPWAY_K8S_DIR:-$CACHE/cluster}
PORT=${SLIPWAY_TEMPORAL_PORT:-7233}
UI_PORT=${SLIPWAY_TEMPORAL_UI_PORT:-8233}
SPEC=examples/demo/slipway.yaml
REG_PORT=${SLIPWAY_REGISTRY_PORT:-5001}
IMAGE=127.0.0.1:$REG_PORT/slipway/demo-app
CI_IMAGE=127.0.0.1:$REG_PORT/ci/demo-app
# shellcheck source=scripts/lib/proc.sh
source scripts/lib/proc.sh

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

stop_pid() { # name: stop a process this script started, by its pid file
  local f=$DIR/$1.pid p
  [[ -s $f ]] || return 0
  p=$(cat "$f")
  if alive "$p"; then
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 1 50); do alive "$p" || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  fi
  rm -f "$f"
}

down() {
  stop_pid worker
  stop_pid localpods
  stop_pid registry
  scripts/cluster-down.sh >/dev/null 2>&1 || true
  scripts/temporal-dev.sh stop || true
}

# wait_file NAME PATH SECONDS: wait until the process this script started as NAME (pid in $DIR/NAME.pid, log
# in $DIR/NAME.log) has written PATH, its sign that it is ready; fail as soon as it exits, or after SECONDS.
wait_file() {
  local name=$1 path=$2 secs=$3 pid i
  pid=$(cat "$DIR/$name.pid")
  for ((i = 0; i < secs * 10; i++)); do
    [[ -s $path ]] && return 0
    if ! alive "$pid"; then
      echo "demo: $name (pid $pid) exited before it was ready; last lines of $DIR/$name.log:" >&2
      tail -n 40 "$DIR/$name.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "demo: $name (pid $pid) did not write $path within ${secs}s; last lines of $DIR/$name.log:" >&2
  tail -n 40 "$DIR/$name.log" >&2
  exit 1
}

# start_registry CRANE: the loopback OCI registry on $REG_PORT. It refuses a port that is taken (a registry
# already there would pass the readiness probe while ours failed to bind), and ready means our process holds
# the port and answers /v2/.
start_registry() {
  local crane=$1 pid i
  if port_busy "$REG_PORT"; then
    echo "demo: port 127.0.0.1:$REG_PORT (the OCI registry's) is already in use by another process;" \
      "stop it, or set SLIPWAY_REGISTRY_PORT to a free port" >&2
    exit 1
  fi
  rm -rf "$DIR/registry"
  mkdir -p "$DIR/registry"
  "$crane" registry serve --address "127.0.0.1:$REG_PORT" --disk "$DIR/registry" > "$DIR/registry.log" 2>&1 &
  pid=$!
  echo "$pid" > "$DIR/registry.pid"
  for ((i = 0; i < 100; i++)); do
    if ! alive "$pid"; then
      echo "demo: the registry (pid $pid) exited; $DIR/registry.log:" >&2
      cat "$DIR/registry.log" >&2
      exit 1
    fi
    listens "$pid" "$REG_PORT" && curl -fsS -o /dev/null "http://127.0.0.1:$REG_PORT/v2/" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "demo: the registry (pid $pid) did not answer on 127.0.0.1:$REG_PORT within 10s; $DIR/registry.log:" >&2
  cat "$DIR/registry.log" >&2
  exit 1
}

# push_ci_image BINARY VERSION: cmd/mkimage builds and pushes one CI build of the demo app. The digest goes
# into a variable first: inside echo's arguments a failed push would be ignored (set -e does not look at a
# command substitution that is an argument).
push_ci_image() {
  local digest
  digest=$(bin/mkimage --binary "$1" --version "$2" --push "$CI_IMAGE:$2")
  echo "$CI_IMAGE:$2 $digest"
}

# scanner_env: export the scanners' database locations that scripts/scandb.sh prints. Its output goes into a
# variable first: a failure inside `< <(...)` would go unnoticed.
scanner_env() {
  local out line
  out=$(scripts/scandb.sh)
  while read -r line; do export "${line?}"; done <<< "$out"
}

up() {
  say "tools (built once into $CACHE; the first run takes a while)"
  scripts/tools.sh all
  # static: the demo app goes into an image that has no libc
  CGO_ENABLED=0 go build -o bin/ ./worker ./starter ./cmd/demoapp ./cmd/localpods ./cmd/mkimage ./cmd/keygen
  mkdir -p "$DIR"
  stop_pid worker
  stop_pid localpods
  stop_pid registry
  if [[ $REG_PORT != 5001 ]]; then
    sed "s#127.0.0.1:5001/#127.0.0.1:$REG_PORT/#" examples/demo/slipway.yaml > "$DIR/slipway.yaml"
    SPEC=$DIR/slipway.yaml
  fi

  say "OCI registry on 127.0.0.1:$REG_PORT, and the CI builds of the demo app in ci/demo-app (no Docker: cmd/mkimage puts the binary in a layer)"
  local crane
  crane=$(scripts/tools.sh path crane)
  start_registry "$crane"
  for v in v1.0.0 v1.1.0 v1.2.0-broken; do
    push_ci_image bin/demoapp "$v"
  done
  # v1.3.0 is a build that links github.com/example/vuln v1.1.0 (CVE-2099-0001, CRITICAL in the fixture
  # databases); it never runs, the scan stage stops it.
  local vuln
  vuln=$(go run ./tests/testimage/cmd/buildvulnapp "$DIR/vulnapp")
  push_ci_image "$vuln" v1.3.0

  say "signing keys (cmd/keygen); the worker reads them from the variables the spec names"
  rm -rf "$DIR/keys"
  bin/keygen "$DIR/keys"
  SLIPWAY_DEMO_SIGNING_KEY=$(cat "$DIR/keys/cosign.key")
  SLIPWAY_DEMO_SIGNING_PUBLIC_KEY=$(cat "$DIR/keys/cosign.pub")
  export SLIPWAY_DEMO_SIGNING_KEY SLIPWAY_DEMO_SIGNING_PUBLIC_KEY

  say "scanners: pinned Trivy and Grype, offline databases built from tests/fixtures/advisories.json"
  scanner_env
  SLIPWAY_TRIVY=$(scripts/tools.sh path trivy)
  SLIPWAY_GRYPE=$(scripts/tools.sh path grype)
  export SLIPWAY_TRIVY SLIPWAY_GRYPE SLIPWAY_SCAN_CACHE_DIR=$DIR/scan-cache SLIPWAY_SCAN_REPORTS_DIR=$DIR/scan-reports
  echo "TRIVY_CACHE_DIR=$TRIVY_CACHE_DIR GRYPE_DB_CACHE_DIR=$GRYPE_DB_CACHE_DIR reports: $SLIPWAY_SCAN_REPORTS_DIR"

  say "Temporal dev server and Web UI"
  scripts/temporal-dev.sh start >/dev/null
  export TEMPORAL_ADDRESS=127.0.0.1:$PORT SLIPWAY_WEB_UI=http://127.0.0.1:$UI_PORT

  say "local Kubernetes control plane (fresh)"
  scripts/cluster-down.sh >/dev/null 2>&1 || true
  KUBECONFIG=$(SLIPWAY_K8S_NAMESPACES="demo-staging demo-production" scripts/cluster-up.sh | tail -n 1)
  export KUBECONFIG

  say "localpods (runs bin/demoapp for every pod of $IMAGE) and the worker"
  rm -f "$DIR/localpods.addr"
  bin/localpods --kubeconfig "$KUBECONFIG" --program "$IMAGE=$REPO/bin/demoapp" \
    --addr-file "$DIR/localpods.addr" > "$DIR/localpods.log" 2>&1 &
  echo $! > "$DIR/localpods.pid"
  wait_file localpods "$DIR/localpods.addr" 30
  PROXY=http://$(cat "$DIR/localpods.addr")
  # The worker runs as a build of the Worker Deployment "slipway" and makes its build current (--set-current
  # always: the demo has one worker, and a dev server kept from an earlier `make demo` may have another
  # build current). It writes its ready file once it polls and its build is current (worker --ready-file).
  rm -f "$DIR/worker.ready"
  SLIPWAY_PROBE_PROXY_URL=$PROXY bin/worker --kubeconfig "$KUBECONFIG" --ready-file "$DIR/worker.ready" \
    --set-current always > "$DIR/worker.log" 2>&1 &
  echo $! > "$DIR/worker.pid"
  wait_file worker "$DIR/worker.ready" 60

  say "release v1.0.0 (first release: blue)"
  bin/starter release --spec "$SPEC" --version v1.0.0 --actor demo --wait --timeout 5m

  say "release v1.1.0 (blue -> green; blue scaled down after the delay)"
  bin/starter release --spec "$SPEC" --version v1.1.0 --actor demo --wait --timeout 5m

  say "release v1.2.0-broken (fails its preview checks: rolls back, traffic stays on green)"
  local code=0
  bin/starter release --spec "$SPEC" --version v1.2.0-broken --actor demo --wait --timeout 5m || code=$?
  if [[ $code != 1 ]] || ! bin/starter status --spec "$SPEC" --json | grep -q '"phase": "rolled-back"'; then
    echo "demo: the broken release ended with exit code $code, not rolled back as it should have" >&2
    exit 1
  fi

  say "release v1.3.0 (links a module with a CRITICAL advisory: blocked at the scan stage, nothing deployed)"
  code=0
  bin/starter release --spec "$SPEC" --version v1.3.0 --actor demo --wait --timeout 5m || code=$?
  if [[ $code != 1 ]] || ! bin/starter status --spec "$SPEC" --json | grep -q '"phase": "blocked"'; then
    echo "demo: the vulnerable release ended with exit code $code, not blocked as it should have" >&2
    exit 1
  fi
  bin/starter status --spec "$SPEC"
  ls -l "$SLIPWAY_SCAN_REPORTS_DIR/demo-app/v1.3.0"

  say "the production repository: only scanned, released builds, by their release tags"
  local tags digest_minor digest_patch
  tags=$("$crane" ls "$IMAGE" | sort | tr '\n' ' ')
  echo "$IMAGE: $tags"
  if [[ " $tags " != *" v1.1.0 "* || " $tags " != *" v1.1 "* || " $tags " == *" v1.3.0 "* || " $tags " == *" v1.2.0-broken "* ]]; then
    echo "demo: expected v1.1.0 and v1.1 in $IMAGE, and neither the blocked v1.3.0 nor the rolled-back v1.2.0-broken" >&2
    exit 1
  fi
  digest_minor=$("$crane" digest "$IMAGE:v1.1")
  digest_patch=$("$crane" digest "$IMAGE:v1.1.0")
  echo "v1.1 -> $digest_minor  (v1.1.0 $digest_patch)"

  say "what users get now, through the active Service"
  local version
  version=$(curl -sS --max-time 5 "$PROXY/api/v1/namespaces/demo-production/services/demo-app-active:8080/proxy/version")
  echo "$version"
  if [[ $version != *v1.1.0* ]]; then
    echo "demo: expected v1.1.0 to be serving after the rollback" >&2
    exit 1
  fi
  cat <<EOF

Slipway demo is up.
  Web UI:      http://127.0.0.1:$UI_PORT/namespaces/default/workflows
  status:      TEMPORAL_ADDRESS=$TEMPORAL_ADDRESS bin/starter status --spec $SPEC
  the app:     curl $PROXY/api/v1/namespaces/demo-production/services/demo-app-active:8080/proxy/version
  kubectl:     KUBECONFIG=$KUBECONFIG kubectl get deploy,svc -n demo-production
  images:      $crane ls $IMAGE   (CI builds: $CI_IMAGE)
  signing key: $DIR/keys/cosign.pub (cosign verify --key accepts the signatures; see docs/promotion.md)
  scan reports: $SLIPWAY_SCAN_REPORTS_DIR/demo-app/<version>/ (report.json, report.sarif, trivy.json, grype.json)
  logs:        $DIR/worker.log, $DIR/localpods.log
  stop it all: make down
EOF
}

case ${1:-up} in
  up) up ;;
  down) down ;;
  *) echo "usage: scripts/demo.sh up|down" >&2; exit 2 ;;
esac
