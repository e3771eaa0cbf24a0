#!/usr/bin/env bash
# scripts_test.sh - tests of the scripts themselves: a failed step stops them (no failure hidden in a command
# substitution or a process substitution), they refuse a port another process holds and call ready only the
# server they started, the demo waits for the worker's ready file, an interrupted cluster-up.sh leaves nothing
# running, and workflowcheck runs from go.mod's tool pin.
#
#   scripts/test/scripts_test.sh            run every test
#   scripts/test/scripts_test.sh NAME...    run these tests (names as printed, without "test_")
#
# The behaviour tests run the real scripts in a scratch copy of the repository (a temp dir) where the tools,
# the binaries and the scripts they call are small fakes, so they need neither Temporal, Kubernetes nor a
# registry and take a few seconds. Fakes that must look like a server listen with `python3 -m http.server` on
# a free loopback port. Every wait polls with a deadline. Prints "--- PASS: name (Ns)" or "--- FAIL: name"
# per test (scripts/test.sh counts these lines) and exits 1 if any failed.
# shellcheck disable=SC2016 # the fakes' bodies are single-quoted on purpose: they expand when a fake runs
set -euo pipefail
cd "$(dirname "$0")/../.."

PY=$(python3 -c 'import sys; print(sys.executable)')
export PY

# ------------------------------------------------------------------------------------------------- helpers
# (the tests' own, not scripts/lib/proc.sh's: the code under test does not check itself)

# running PID: the process exists and is not a zombie.
running() {
  local stat
  kill -0 "$1" 2> /dev/null || return 1
  stat=$(cat "/proc/$1/stat" 2> /dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

# port_open PORT: something accepts connections on 127.0.0.1:PORT.
port_open() { (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }

# die MESSAGE: fail the current test.
die() {
  echo "    $*" >&2
  exit 1
}

# wait_until SECONDS CMD...: poll CMD every 50ms until it succeeds; false after SECONDS.
wait_until() {
  local secs=$1 i
  shift
  for ((i = 0; i < secs * 20; i++)); do
    "$@" && return 0
    sleep 0.05
  done
  return 1
}

# contains FILE TEXT / lacks FILE TEXT: assertions on a log, which is shown when they fail.
contains() { grep -qF -- "$2" "$1" || { sed 's/^/    | /' "$1" >&2; die "expected the output above to contain: $2"; }; }
lacks() { ! grep -qF -- "$2" "$1" || { sed 's/^/    | /' "$1" >&2; die "expected the output above not to contain: $2"; }; }

# free_ports N: the first of N consecutive loopback ports that are all free (from a random start).
free_ports() {
  local n=$1 base p ok try
  for ((try = 0; try < 50; try++)); do
    base=$((30000 + RANDOM % 20000))
    ok=1
    for ((p = base; p < base + n; p++)); do port_open "$p" && { ok=0; break; }; done
    [[ $ok == 1 ]] && { echo "$base"; return 0; }
  done
  die "no $n free consecutive ports found"
}

# occupy PORT: another process (a python http.server, not one of the scripts') listens on 127.0.0.1:PORT;
# its PID goes to $T/kill.pids for the clean-up.
occupy() {
  mkdir -p "$T/www/v2"
  echo ok > "$T/www/v2/index.html"
  echo ok > "$T/www/health"
  "$PY" -m http.server --bind 127.0.0.1 --directory "$T/www" "$1" > "$T/occupier-$1.log" 2>&1 &
  echo $! >> "$T/kill.pids"
  wait_until 10 port_open "$1" || die "the stand-in listener on port $1 did not start"
}

# fake NAME BODY: an executable bash script $FAKES/NAME running BODY.
fake() {
  printf '#!/usr/bin/env bash\nset -euo pipefail\n%s\n' "$2" > "$FAKES/$1"
  chmod +x "$FAKES/$1"
}

# scratch_repo: $R, a copy of the scripts under test, with scripts/tools.sh replaced by a fake whose
# `path NAME` is $FAKES/NAME (and which builds nothing).
scratch_repo() {
  R=$T/repo FAKES=$T/fakes
  mkdir -p "$R/scripts/lib" "$R/bin" "$R/examples/demo" "$FAKES"
  cp scripts/demo.sh scripts/temporal-dev.sh scripts/cluster-up.sh scripts/cluster-down.sh "$R/scripts/"
  cp scripts/lib/proc.sh "$R/scripts/lib/"
  fake tools.sh '[[ ${1:-} != path ]] || echo "'"$FAKES"'/$2"'
  mv "$FAKES/tools.sh" "$R/scripts/tools.sh"
  export SLIPWAY_CACHE=$T/cache T FAKES
}

# ------------------------------------------------------------------------------- demo.sh (with fakes)

# demo_repo: scratch_repo set up for demo.sh up: fake go, crane (a python http.server for /v2/), mkimage,
# keygen, scandb.sh, temporal-dev.sh, cluster-up.sh, cluster-down.sh, localpods, worker and starter. FAKE_*
# variables switch a fake to failing. The registry gets a free port of its own.
demo_repo() {
  scratch_repo
  mkdir -p "$T/path" "$T/www/v2"
  echo ok > "$T/www/v2/index.html"
  echo 'image: 127.0.0.1:5001/slipway/demo-app' > "$R/examples/demo/slipway.yaml"
  fake go 'case $1 in run) echo "$T/vulnapp" ;; esac'
  mv "$FAKES/go" "$T/path/go"
  # crane registry serve --address 127.0.0.1:PORT ...: serve, or (FAKE_CRANE=handoff) leave the port to
  # another process and exit, as a registry that lost its port to another one would.
  fake crane 'touch "$T/crane.called"
port=${4##*:}
if [[ ${FAKE_CRANE:-serve} == handoff ]]; then
  "$PY" -m http.server --bind 127.0.0.1 --directory "$T/www" "$port" > /dev/null 2>&1 &
  echo $! >> "$T/kill.pids"
  for ((i = 0; i < 200; i++)); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && exit 0; sleep 0.05; done
  exit 1
fi
exec "$PY" -m http.server --bind 127.0.0.1 --directory "$T/www" "$port"'
  fake mkimage '[[ ${FAKE_MKIMAGE_FAIL:-} != 1 ]] || { echo "mkimage: push: connection refused (fake)" >&2; exit 1; }
echo sha256:0123456789abcdef'
  fake keygen 'mkdir -p "$1"; echo key > "$1/cosign.key"; echo pub > "$1/cosign.pub"'
  fake scandb.sh '[[ ${FAKE_SCANDB_FAIL:-} != 1 ]] || { echo "scandb.sh: generating the databases failed (fake)" >&2; exit 1; }
echo "TRIVY_CACHE_DIR=$T/trivy"
echo "GRYPE_DB_CACHE_DIR=$T/grype"'
  fake temporal-dev.sh '[[ $1 != start ]] || echo 127.0.0.1:1'
  fake cluster-up.sh 'echo "$T/kubeconfig"'
  fake cluster-down.sh 'true'
  fake localpods 'while (($#)); do [[ $1 == --addr-file ]] && f=$2; shift; done
echo 127.0.0.1:1 > "$f"
exec sleep 30'
  # worker: FAKE_WORKER=ready writes its --ready-file (atomically, as the real one), =die exits at once.
  fake worker 'echo "worker $*" > "$T/worker.args"
[[ ${FAKE_WORKER:-} != die ]] || { echo "worker: connect to Temporal at 127.0.0.1:1: refused (fake)" >&2; exit 1; }
while (($#)); do [[ $1 == --ready-file ]] && f=$2; shift; done
echo $$ > "$f.tmp" && mv "$f.tmp" "$f"
exec sleep 30'
  fake starter 'echo "starter $* (fake: stops the demo here)"; exit 3'
  for f in scandb.sh temporal-dev.sh cluster-up.sh cluster-down.sh; do mv "$FAKES/$f" "$R/scripts/$f"; done
  for f in mkimage keygen localpods worker starter; do mv "$FAKES/$f" "$R/bin/$f"; done
  REG_PORT=$(free_ports 1)
  export PATH=$T/path:$PATH SLIPWAY_DEMO_DIR=$T/demo SLIPWAY_REGISTRY_PORT=$REG_PORT
}

# run_demo: demo.sh up in the scratch repo (at most 60s) into $T/demo.out; its exit code in DEMO_RC. Then
# demo.sh down stops what it left running.
run_demo() {
  DEMO_RC=0
  timeout 60 bash "$R/scripts/demo.sh" up > "$T/demo.out" 2>&1 || DEMO_RC=$?
  bash "$R/scripts/demo.sh" down > /dev/null 2>&1 || true
  [[ $DEMO_RC != 124 ]] || { sed 's/^/    | /' "$T/demo.out" >&2; die "demo.sh up did not end within 60s"; }
}

# A failed push used to be hidden: `echo "... $(bin/mkimage ... --push ...)"` succeeds whatever mkimage does.
test_demo_stops_on_a_failed_push() {
  demo_repo
  FAKE_MKIMAGE_FAIL=1 run_demo
  [[ $DEMO_RC != 0 ]] || die "demo.sh up exited 0 although mkimage failed"
  contains "$T/demo.out" "push: connection refused (fake)"
  lacks "$T/demo.out" "signing keys"
}

# A failed scandb.sh used to be hidden: `while read ...; done < <(scripts/scandb.sh)` ignores its status (set
# -u caught it only when the variables it prints were not set already, as they are here).
test_demo_stops_on_a_failed_scandb() {
  demo_repo
  FAKE_SCANDB_FAIL=1 TRIVY_CACHE_DIR=$T/old-trivy GRYPE_DB_CACHE_DIR=$T/old-grype run_demo
  [[ $DEMO_RC != 0 ]] || die "demo.sh up exited 0 although scandb.sh failed"
  contains "$T/demo.out" "generating the databases failed (fake)"
  lacks "$T/demo.out" "Temporal dev server"
}

# The registry's port used to be unchecked: readiness passed against any registry already listening there.
test_demo_refuses_a_taken_registry_port() {
  demo_repo
  occupy "$REG_PORT"
  run_demo
  [[ $DEMO_RC != 0 ]] || die "demo.sh up exited 0 with the registry port taken"
  contains "$T/demo.out" "port 127.0.0.1:$REG_PORT (the OCI registry's) is already in use"
  contains "$T/demo.out" "SLIPWAY_REGISTRY_PORT"
  [[ ! -e $T/crane.called ]] || die "the registry was started anyway"
}

# The registry counts as ready only while the process demo.sh started holds the port: here crane leaves the
# port to another process and exits, and /v2/ still answers.
test_demo_registry_ready_only_if_it_is_ours() {
  demo_repo
  FAKE_CRANE=handoff run_demo
  [[ $DEMO_RC != 0 ]] || die "demo.sh up exited 0 although the registry it started had exited"
  contains "$T/demo.out" "demo: the registry (pid"
  contains "$T/demo.out" ") exited"
  lacks "$T/demo.out" "sha256:0123456789abcdef"
}

# The worker is ready when its --ready-file appears (not when its log has some text).
test_demo_waits_for_the_worker_ready_file() {
  demo_repo
  FAKE_WORKER=ready run_demo
  contains "$T/worker.args" "--ready-file $T/demo/worker.ready"
  contains "$T/demo.out" "release v1.0.0"
  contains "$T/demo.out" "(fake: stops the demo here)"
  [[ $DEMO_RC == 3 ]] || die "demo.sh up exited $DEMO_RC, want 3 (the fake starter's)"
}

# A worker that dies is reported at once, with its log, instead of after the wait for its ready file.
test_demo_fails_fast_when_the_worker_dies() {
  demo_repo
  local t0=$SECONDS
  FAKE_WORKER=die run_demo
  [[ $DEMO_RC != 0 ]] || die "demo.sh up exited 0 although the worker died"
  contains "$T/demo.out" "demo: worker (pid"
  contains "$T/demo.out" "exited before it was ready"
  contains "$T/demo.out" "refused (fake)"
  lacks "$T/demo.out" "release v1.0.0"
  ((SECONDS - t0 < 30)) || die "took $((SECONDS - t0))s: the demo waited out the ready file's deadline"
}

# ------------------------------------------------------------------------ temporal-dev.sh (fake CLI)

# temporal_repo: scratch_repo with a fake temporal CLI: `operator ...` answers as a healthy frontend (as if
# another server answered on the port), `server start-dev` runs FAKE_SERVER (default: exit 1).
temporal_repo() {
  scratch_repo
  fake temporal 'if [[ $1 == operator ]]; then
  echo "{\"namespaceInfo\": {\"state\": \"NAMESPACE_STATE_REGISTERED\"}}"
  exit 0
fi
touch "$T/server.called"
eval "${FAKE_SERVER:-}"
echo "bind: address already in use (fake)" >&2
exit 1'
  local base
  base=$(free_ports 2)
  export SLIPWAY_TEMPORAL_DIR=$T/temporal SLIPWAY_TEMPORAL_PORT=$base SLIPWAY_TEMPORAL_UI_PORT=$((base + 1))
}

test_temporal_refuses_a_taken_port() {
  temporal_repo
  occupy "$SLIPWAY_TEMPORAL_PORT"
  local occupier
  occupier=$(tail -n 1 "$T/kill.pids")
  ! bash "$R/scripts/temporal-dev.sh" start > "$T/out" 2>&1 || die "temporal-dev.sh start exited 0 with its port taken"
  contains "$T/out" "port 127.0.0.1:$SLIPWAY_TEMPORAL_PORT (the frontend's) is already in use"
  contains "$T/out" "SLIPWAY_TEMPORAL_PORT"
  occupy "$SLIPWAY_TEMPORAL_UI_PORT"
  kill "$occupier"
  wait_until 10 eval '! port_open "$SLIPWAY_TEMPORAL_PORT"' || die "the stand-in listener did not stop"
  ! bash "$R/scripts/temporal-dev.sh" start > "$T/out" 2>&1 || die "temporal-dev.sh start exited 0 with the UI port taken"
  contains "$T/out" "SLIPWAY_TEMPORAL_UI_PORT"
  [[ ! -e $T/server.called ]] || die "the server was started anyway"
}

# The server exits at once (say it lost its port); that another frontend answers must not make it "started".
test_temporal_not_ready_when_its_server_exited() {
  temporal_repo
  ! timeout 30 bash "$R/scripts/temporal-dev.sh" start > "$T/out" 2>&1 || die "temporal-dev.sh start exited 0 although its server had exited"
  contains "$T/out" "the server exited during start-up"
  lacks "$T/out" "started (pid"
}

# The server runs but does not hold its port, and a frontend answers there: not ready; it is stopped again.
test_temporal_not_ready_when_another_server_answers() {
  temporal_repo
  FAKE_SERVER='exec -a temporal sleep 30' SLIPWAY_TEMPORAL_WAIT=2 \
    timeout 30 bash "$R/scripts/temporal-dev.sh" start > "$T/out" 2>&1 && die "temporal-dev.sh start exited 0 although another server answered"
  contains "$T/out" "but not the server this script started"
  contains "$T/out" "stopped (pid"
}

# ------------------------------------------------------------------------- cluster-up.sh (fake binaries)

# cluster_repo: scratch_repo with a fake etcd that runs FAKE_ETCD (default: idle, named etcd as the real one,
# so cluster-down.sh recognises it) and a free block of 10 ports. The other binaries are never reached.
cluster_repo() {
  scratch_repo
  fake etcd 'echo $$ > "$T/etcd.self"; eval "${FAKE_ETCD:-}"; exec -a etcd sleep 60'
  local b
  b=$(free_ports 10)
  export SLIPWAY_K8S_DIR=$T/cluster SLIPWAY_K8S_PORT_BASE=$b SLIPWAY_K8S_WAIT=${SLIPWAY_K8S_WAIT:-30}
}

# etcd_recorded: cluster-up.sh has recorded the fake etcd (that is, it runs as etcd).
etcd_recorded() { grep -q '^etcd ' "$SLIPWAY_K8S_DIR/pids" 2>/dev/null; }

# etcd_stopped: the fake etcd (it wrote its PID to $T/etcd.self) is not running.
etcd_stopped() {
  local p
  p=$(cat "$T/etcd.self")
  echo "$p" >> "$T/kill.pids"
  ! running "$p" || die "etcd (pid $p) still runs"
}

test_cluster_refuses_a_taken_port() {
  cluster_repo
  occupy $((SLIPWAY_K8S_PORT_BASE + 3))
  ! bash "$R/scripts/cluster-up.sh" > "$T/out" 2>&1 || die "cluster-up.sh exited 0 with the API server's port taken"
  contains "$T/out" "port 127.0.0.1:$((SLIPWAY_K8S_PORT_BASE + 3)) is already in use"
  contains "$T/out" "SLIPWAY_K8S_PORT_BASE"
  [[ ! -e $SLIPWAY_K8S_DIR/pids ]] || die "cluster-up.sh started something anyway"
}

# etcd runs but another process holds its client port and answers /health: not healthy, and cluster-up.sh
# stops the etcd it started when it gives up.
test_cluster_not_ready_when_another_process_serves_the_port() {
  SLIPWAY_K8S_WAIT=2 cluster_repo
  local port=$SLIPWAY_K8S_PORT_BASE
  mkdir -p "$T/www"
  echo ok > "$T/www/health"
  export FAKE_ETCD='"$PY" -m http.server --bind 127.0.0.1 --directory "$T/www" '"$port"' > /dev/null 2>&1 &
echo $! >> "$T/kill.pids"
for ((i = 0; i < 200; i++)); do (exec 3<>/dev/tcp/127.0.0.1/'"$port"') 2>/dev/null && break; sleep 0.05; done'
  ! timeout 60 bash "$R/scripts/cluster-up.sh" > "$T/out" 2>&1 || die "cluster-up.sh exited 0 although etcd did not hold its port"
  contains "$T/out" "timed out after 2s waiting for etcd"
  contains "$T/out" "127.0.0.1:$port is held by another process, not by etcd"
  contains "$T/out" "stopping what was started"
  lacks "$T/out" "etcd healthy"
  etcd_stopped
}

# interrupt_cluster_up SIGNAL TARGET: start cluster-up.sh (job control on, as a terminal would: otherwise an
# asynchronous job starts with SIGINT ignored), wait until it runs etcd, send SIGNAL to TARGET (group: the
# whole process group, as Ctrl-C does; script: the script alone), and check that it ends and etcd with it.
interrupt_cluster_up() {
  local sig=$1 target=$2 pid code=0
  cluster_repo
  set -m
  bash "$R/scripts/cluster-up.sh" > "$T/out" 2>&1 &
  pid=$!
  set +m
  echo "$pid" >> "$T/kill.pids"
  wait_until 30 etcd_recorded || { sed 's/^/    | /' "$T/out" >&2; die "cluster-up.sh did not start etcd within 30s"; }
  if [[ $target == group ]]; then kill -"$sig" -- "-$pid"; else kill -"$sig" "$pid"; fi
  wait_until 20 eval '! running "$pid"' || die "cluster-up.sh still runs 20s after SIG$sig"
  wait "$pid" 2> /dev/null || code=$?
  [[ $code != 0 ]] || die "cluster-up.sh exited 0 after SIG$sig"
  EXIT_CODE=$code
  etcd_stopped
  contains "$T/out" "stopping what was started"
}

test_cluster_up_ctrl_c_stops_what_it_started() {
  interrupt_cluster_up INT group
  contains "$T/out" "cluster-up: interrupted (SIGINT)"
  [[ $EXIT_CODE == 130 ]] || die "exit code $EXIT_CODE, want 130"
}

test_cluster_up_sigterm_stops_what_it_started() {
  interrupt_cluster_up TERM script
  contains "$T/out" "cluster-up: terminated (SIGTERM)"
  [[ $EXIT_CODE == 143 ]] || die "exit code $EXIT_CODE, want 143"
}

# ------------------------------------------------------------------------------------------ static checks

# A command substitution of a program (bin/..., scripts/..., go, "$VAR") anywhere but as the whole right-hand
# side of a plain assignment hides the program's failure from set -e: as an argument (echo "$(...)"), as a
# command's prefix assignment (X=$(...) cmd) or behind local/export. Catches the demo's old `echo "...
# $(bin/mkimage --push ...)"` and test.sh's old `SLIPWAY_TEMPORAL_CLI=$(...) gotest`.
test_no_program_output_used_as_an_argument() {
  local hits
  hits=$(grep -nHP '^(?!\s*#)(.*(?<![A-Za-z0-9_]=)\$\((bin/|scripts/|"\$|\$\{?[A-Za-z_]|go\s|[A-Z_]+=)|\s*(local|export|declare|readonly)\s+[A-Za-z_]\w*=\$\(|\s*[A-Za-z_]\w*=\$\([^()]*\)\s+[A-Za-z"$])' \
    scripts/*.sh scripts/lib/*.sh || true)
  [[ -z $hits ]] || die "assign the command substitution to a variable first (set -e ignores its failure here):"$'\n'"$hits"
}

# `< <(cmd)` runs cmd where no one checks its exit status (the demo's scandb.sh was read that way).
test_no_process_substitution() {
  local hits
  hits=$(grep -nHE '^[^#]*<\(' scripts/*.sh scripts/lib/*.sh || true)
  [[ -z $hits ]] || die "run the command into a variable or a file and check its status instead of <(...):"$'\n'"$hits"
}

# Readiness of the worker comes from --ready-file, not from the SDK's log text.
test_no_readiness_from_log_text() {
  local hits
  hits=$(grep -nHF 'Started Worker' scripts/*.sh || true)
  [[ -z $hits ]] || die "wait for the worker's --ready-file instead of its log text:"$'\n'"$hits"
}

# workflowcheck is pinned in go.mod as a tool and run with `go tool`, so it needs no module proxy.
test_workflowcheck_is_a_pinned_tool() {
  grep -qx 'tool go.temporal.io/sdk/contrib/tools/workflowcheck' go.mod || die "go.mod has no tool directive for workflowcheck"
  grep -q '^ *go tool workflowcheck ./workflows/\.\.\.$' scripts/test.sh || die "scripts/test.sh does not run go tool workflowcheck"
  ! grep -q 'workflowcheck@' scripts/test.sh || die "scripts/test.sh still fetches workflowcheck@version at test time"
  GOPROXY=off go tool -n workflowcheck > /dev/null || die "go tool workflowcheck does not resolve offline (GOPROXY=off)"
}

# ------------------------------------------------------------------------------------------------- runner

# run_test NAME: run test_NAME in a subshell (set -e applies inside: it is not in a condition) with a scratch
# dir $T; afterwards stop what the test recorded in $T/kill.pids (its own processes only) and remove $T.
run_test() {
  local name=$1 t0=$SECONDS rc=0
  T=$(mktemp -d /tmp/slipway-scripts-test.XXXXXX)
  touch "$T/kill.pids"
  set +e
  (
    set -e
    "test_$name"
  ) 2> "$T/stderr"
  rc=$?
  set -e
  local p
  while read -r p; do
    [[ -n $p ]] && running "$p" && kill "$p" 2> /dev/null
  done < "$T/kill.pids" || true
  if [[ $rc == 0 ]]; then
    echo "--- PASS: $name ($((SECONDS - t0))s)"
    PASS=$((PASS + 1))
  else
    echo "--- FAIL: $name ($((SECONDS - t0))s)"
    cat "$T/stderr"
    FAIL=$((FAIL + 1))
  fi
  rm -rf "$T"
}

PASS=0 FAIL=0
if (($#)); then
  names=("$@")
else
  all=$(declare -F | awk '$3 ~ /^test_/ { sub(/^test_/, "", $3); print $3 }')
  mapfile -t names <<< "$all"
fi
for n in "${names[@]}"; do
  declare -F "test_$n" > /dev/null || { echo "scripts_test: no test $n" >&2; exit 2; }
  run_test "$n"
done
if ((FAIL > 0)); then
  echo "FAIL scripts/test/scripts_test.sh ($PASS passed, $FAIL failed)"
  exit 1
fi
echo "ok   scripts/test/scripts_test.sh ($PASS tests)"
