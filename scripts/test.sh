#!/usr/bin/env bash
# test.sh - the whole test suite, as `make test` and CI run it.
#
#   scripts/test.sh all           unit + integration + demo
#   scripts/test.sh unit          go vet, workflowcheck, the unit tests and scripts/test/scripts_test.sh
#                                 (the scripts with fake tools; no servers)
#   scripts/test.sh integration   tests/integration against a real Temporal dev server and a real local
#                                 control plane, and tests/scanners with the real Trivy and Grype (all built
#                                 once by scripts/tools.sh and scripts/scandb.sh, cached in ~/.cache/slipway)
#   scripts/test.sh demo          `scripts/demo.sh up` on ports of its own, then `down`
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS=${GOFLAGS:--buildvcs=false}

phase=${1:-all}
T0=$(date +%s)
say() { echo "== [test +$(( $(date +%s) - T0 ))s] $*"; }

# gotest runs go test verbosely into a log, shows the package lines (and the whole log when something fails),
# and adds the top-level tests that passed and failed to the totals printed at the end.
PASSED=0 FAILED=0
gotest() { counted go test -count=1 -v "$@"; }

# counted CMD... runs a test command that prints go test's "--- PASS"/"--- FAIL" lines and "ok"/"FAIL"
# summary lines (go test -v, scripts/test/scripts_test.sh), as gotest describes.
counted() {
  local log rc=0
  log=$(mktemp /tmp/slipway-gotest.XXXXXX)
  "$@" > "$log" 2>&1 || rc=$?
  PASSED=$((PASSED + $(grep -c '^--- PASS' "$log" || true)))
  FAILED=$((FAILED + $(grep -c '^--- FAIL' "$log" || true)))
  if [[ $rc != 0 ]]; then
    grep -v '^time=' "$log" | grep -E -B 5 -A 40 '^ *--- FAIL|^FAIL|^panic:' | head -n 600
    rm -f "$log"
    echo "tests: $PASSED passed, $FAILED failed"
    return "$rc"
  fi
  grep -E '^(ok|FAIL|\?) ' "$log" || true
  rm -f "$log"
}

unit() {
  say "go vet"
  go vet ./...
  go vet -tags integration ./tests/...
  say "workflowcheck (no clocks, randomness, I/O or map ranging reachable from workflow code)"
  # Pinned in go.mod as a tool (v0.6.0), so it runs from the module cache, offline, at the version go.sum checks.
  go tool workflowcheck ./workflows/...
  say "unit tests"
  gotest ./...
  say "the scripts' own tests (failures not hidden, ports checked, ready files, Ctrl-C; with fake tools)"
  counted scripts/test/scripts_test.sh
}

integration() {
  say "tools (built once, then cached)"
  scripts/tools.sh temporal cluster scanners cosign prometheus
  say "integration tests (real Temporal dev server, real kube-apiserver/etcd/controllers + KWOK)"
  gotest -tags integration -timeout 30m ./tests/integration/
  say "scanner tests (real Trivy and Grype, offline, on databases built by scripts/scandb.sh)"
  gotest -tags integration -timeout 45m ./tests/scanners/
  say "Slack approval endpoint against a real Temporal dev server (an update refused by the validator)"
  local temporal_cli # assigned first: as a prefix of a command, a failed command substitution would go unnoticed
  temporal_cli=$(scripts/tools.sh path temporal)
  SLIPWAY_TEMPORAL_CLI=$temporal_cli gotest -run DevServer ./internal/slackapprove/
  say "cosign tests (the real cosign CLI accepts Slipway's signatures, and the other way round)"
  gotest -tags integration -timeout 20m ./tests/cosign/
}

demo() {
  say "demo (make demo's script on ports of its own)"
  DEMO_TMP=$(mktemp -d /tmp/slipway-demo-test.XXXXXX)
  export SLIPWAY_DEMO_DIR=$DEMO_TMP SLIPWAY_TEMPORAL_DIR=$DEMO_TMP/temporal SLIPWAY_K8S_DIR=$DEMO_TMP/cluster \
    SLIPWAY_TEMPORAL_PORT=17233 SLIPWAY_TEMPORAL_UI_PORT=18233 SLIPWAY_K8S_PORT_BASE=26440 SLIPWAY_REGISTRY_PORT=25001
  # EXIT, not RETURN: bash skips RETURN traps when set -e ends the script, and a failed demo must not leave
  # its servers holding the ports for the next run.
  trap 'scripts/demo.sh down >/dev/null 2>&1 || true; rm -rf "${DEMO_TMP:-/nonexistent}"' EXIT
  scripts/demo.sh up
  scripts/demo.sh down
}

case $phase in
  all) unit; integration; demo ;;
  unit) unit ;;
  integration) integration ;;
  demo) demo ;;
  *) echo "usage: scripts/test.sh [all|unit|integration|demo]" >&2; exit 2 ;;
esac
say "done: $phase"
echo "tests: $PASSED passed, $FAILED failed"
