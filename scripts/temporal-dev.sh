#!/usr/bin/env bash
# temporal-dev.sh - run a local Temporal dev server (`temporal server start-dev`, SQLite on disk) in the
# background, so workflows survive a restart of the server and of the workers.
#
#   scripts/temporal-dev.sh start    start it (or say it is already running) and wait until the frontend
#                                    answers; the last line of stdout is the frontend address host:port
#   scripts/temporal-dev.sh stop     stop it (SIGTERM, SIGKILL after 15s); the database is kept
#   scripts/temporal-dev.sh status   exit 0 and print the address if it runs and answers, else exit 1
#
# Environment (set them differently to run servers side by side):
#   SLIPWAY_CACHE              tool and state cache (default ~/.cache/slipway)
#   SLIPWAY_TEMPORAL_DIR       database, log and pid file (default $SLIPWAY_CACHE/temporal)
#   SLIPWAY_TEMPORAL_PORT      frontend gRPC port on 127.0.0.1 (default 7233)
#   SLIPWAY_TEMPORAL_UI_PORT   Web UI port on 127.0.0.1 (default 8233)
#   SLIPWAY_TEMPORAL_WAIT      seconds to wait for the frontend (default 60)
# The binary comes from `scripts/tools.sh path temporal` (built once; the first build takes several minutes).
set -euo pipefail

SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${SLIPWAY_CACHE:-$HOME/.cache/slipway}
DIR=${SLIPWAY_TEMPORAL_DIR:-$CACHE/temporal}
PORT=${SLIPWAY_TEMPORAL_PORT:-7233}
UI_PORT=${SLIPWAY_TEMPORAL_UI_PORT:-8233}
WAIT=${SLIPWAY_TEMPORAL_WAIT:-60}
ADDR=127.0.0.1:$PORT
PIDFILE=$DIR/temporal.pid
LOG=$DIR/temporal.log
DB=$DIR/temporal.db

say() { echo "temporal-dev: $*" >&2; }

# shellcheck source=scripts/lib/proc.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/proc.sh"

# pid prints the recorded PID if that process is alive and still a temporal binary (PIDs get reused).
pid() {
  [[ -s $PIDFILE ]] || return 1
  local p argv0
  p=$(cat "$PIDFILE")
  alive "$p" || return 1
  if [[ -r /proc/$p/cmdline ]]; then
    argv0=$(tr '\0' '\n' < "/proc/$p/cmdline" | head -n 1)
    [[ ${argv0##*/} == temporal ]] || return 1
  fi
  echo "$p"
}

healthy() { # the frontend answers and the "default" namespace workers use is registered
  "$TEMPORAL" operator namespace describe --namespace default --address "$ADDR" --command-timeout 2s \
    --output json 2>/dev/null | grep -q NAMESPACE_STATE_REGISTERED
}

cmd_start() {
  local p i
  if p=$(pid); then
    say "already running (pid $p, frontend $ADDR, UI http://127.0.0.1:$UI_PORT, db $DB)"
    echo "$ADDR"
    return 0
  fi
  if port_busy "$PORT"; then
    say "port 127.0.0.1:$PORT (the frontend's) is already in use by another process; stop it, or set SLIPWAY_TEMPORAL_PORT to a free port"
    return 1
  fi
  if port_busy "$UI_PORT"; then
    say "port 127.0.0.1:$UI_PORT (the Web UI's) is already in use by another process; stop it, or set SLIPWAY_TEMPORAL_UI_PORT to a free port"
    return 1
  fi
  mkdir -p "$DIR"
  rm -f "$PIDFILE"
  local t0
  t0=$(date +%s%N)
  # A new session, so the server outlives this script and gets no terminal signals; it writes its own PID.
  # shellcheck disable=SC2016 # $$, $0 and $@ are the inner shell's
  setsid bash -c 'echo $$ > "$0"; exec "$@"' "$PIDFILE" "$TEMPORAL" server start-dev \
    --ip 127.0.0.1 --port "$PORT" --ui-port "$UI_PORT" \
    --db-filename "$DB" \
    --sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=normal \
    --log-level warn >> "$LOG" 2>&1 < /dev/null &
  # Ready means: the server we started (by its pid) holds both ports, and the frontend answers. Without the
  # first part a server that lost its port would pass against whatever else answers there.
  local foreign=0
  for ((i = 0; i < WAIT * 5; i++)); do
    p=$(pid) || p=
    if [[ -z $p ]] && ((i > 5)); then # the grace: the pid file is written, then the shell execs temporal
      say "the server exited during start-up; last lines of $LOG:"
      tail -n 30 "$LOG" >&2
      return 1
    fi
    if [[ -n $p ]] && listens "$p" "$PORT"; then
      if listens "$p" "$UI_PORT" && healthy; then
        say "started (pid $p, frontend $ADDR, UI http://127.0.0.1:$UI_PORT, db $DB, log $LOG) in $((($(date +%s%N) - t0) / 1000000)) ms"
        echo "$ADDR"
        return 0
      fi
    elif healthy; then
      foreign=1 # a frontend answers on our port, and it is not ours
    fi
    sleep 0.2
  done
  if [[ $foreign == 1 ]]; then
    say "a Temporal frontend answers on $ADDR, but not the server this script started (pid ${p:-?}): another process holds the port; stop it, or set SLIPWAY_TEMPORAL_PORT to a free port"
  fi
  say "the server $ADDR was not ready within ${WAIT}s; stopping it. Last lines of $LOG:"
  tail -n 30 "$LOG" >&2
  cmd_stop || true
  return 1
}

cmd_stop() {
  local p i
  if ! p=$(pid); then
    say "not running"
    rm -f "$PIDFILE"
    return 0
  fi
  kill -TERM "$p" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do
    alive "$p" || break
    sleep 0.1
  done
  if alive "$p"; then
    say "pid $p still alive after 15s, sending SIGKILL"
    kill -KILL "$p" 2>/dev/null || true
  fi
  rm -f "$PIDFILE"
  say "stopped (pid $p); database kept at $DB"
}

cmd_status() {
  local p
  if ! p=$(pid); then
    say "not running"
    return 1
  fi
  if listens "$p" "$PORT" && healthy; then
    say "running (pid $p, frontend $ADDR, UI http://127.0.0.1:$UI_PORT)"
    echo "$ADDR"
    return 0
  fi
  say "pid $p is running but the frontend $ADDR does not answer (or another process holds the port)"
  return 1
}

case ${1:-} in
  start|stop|status) ;;
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: temporal-dev.sh start|stop|status" >&2; exit 2 ;;
esac
TEMPORAL=$("$SCRIPTS/tools.sh" path temporal)
"cmd_$1"
