#!/usr/bin/env bash
# scandb.sh - build the small offline vulnerability databases the pinned Trivy and Grype CLIs scan against in
# tests, from tests/fixtures/advisories.json, with the generator in tools/scandb (a Go module of its own).
#
#   scripts/scandb.sh [OUT]     OUT defaults to ${SLIPWAY_CACHE:-~/.cache/slipway}/scandb
#
# Prints two lines, usable as environment for the scanners (TRIVY_CACHE_DIR is --cache-dir):
#   TRIVY_CACHE_DIR=OUT/trivy        holds db/trivy.db and db/metadata.json
#   GRYPE_DB_CACHE_DIR=OUT/grype     holds 6/vulnerability.db and 6/import.json
#
# The generator is built once per version of its sources (cached as bin/scandb-<hash> under the cache; the
# first build compiles ~1400 packages), and the databases are regenerated only when the advisories file or the
# generator changed. SCANDB_BUILT=RFC3339 fixes the build time written into them (default: now).
# See docs/scanners.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${SLIPWAY_CACHE:-$HOME/.cache/slipway}
OUT=${1:-$CACHE/scandb}
SRC=$ROOT/tools/scandb
ADVISORIES=$ROOT/tests/fixtures/advisories.json
BUILD_TIMEOUT=${SCANDB_BUILD_TIMEOUT:-30m}
export GOFLAGS=-buildvcs=false GOTOOLCHAIN=local GOWORK=off

log() { printf '[scandb] %s\n' "$*" >&2; }
die() { printf 'scandb.sh: %s\n' "$*" >&2; exit 1; }

[[ $# -le 1 ]] || die "usage: scripts/scandb.sh [OUT]"
command -v go >/dev/null || die "go not found in PATH"
[[ -f $SRC/go.mod && -f $SRC/main.go ]] || die "generator sources missing in $SRC"
[[ -s $ADVISORIES ]] || die "advisories file missing or empty: $ADVISORIES"
mkdir -p "$CACHE/bin" "$CACHE/build" "$OUT"
OUT=$(cd "$OUT" && pwd)

# The generator binary is named after a hash of its sources and the Go toolchain.
hash=$(
  cd "$SRC"
  export LC_ALL=C # glob order
  { go version; for f in go.mod go.sum ./*.go; do printf '== %s\n' "$f"; cat "$f"; done; } | sha256sum | cut -c1-16
)
BIN=$CACHE/bin/scandb-$hash/scandb

if [[ ! -x $BIN ]]; then
  exec {LOCKFD}>"$CACHE/build/scandb.lock"
  flock "$LOCKFD"
  if [[ ! -x $BIN ]]; then
    log "building the generator (tools/scandb, once per source change; several minutes cold)"
    mkdir -p "$(dirname "$BIN")"
    (cd "$SRC" && timeout "$BUILD_TIMEOUT" go build -trimpath -ldflags='-s -w' -o "$BIN.tmp" .) ||
      { rm -f "$BIN.tmp"; die "building tools/scandb failed or timed out ($BUILD_TIMEOUT)"; }
    mv "$BIN.tmp" "$BIN"
  fi
  flock -u "$LOCKFD"
fi

exec {OUTLOCK}>"$OUT/.lock"
flock "$OUTLOCK"
stamp=$OUT/.stamp
fresh=true
for f in trivy/db/trivy.db trivy/db/metadata.json grype/6/vulnerability.db grype/6/import.json; do
  [[ -s $OUT/$f ]] || fresh=false
done
if ! $fresh || [[ ! -f $stamp || $(<"$stamp") != "$hash" || ! $stamp -nt $ADVISORIES ]]; then
  log "generating the databases into $OUT"
  tmp=$(mktemp -d "$OUT/.new.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  built=()
  [[ -z ${SCANDB_BUILT:-} ]] || built=(-built "$SCANDB_BUILT")
  timeout 120 "$BIN" -advisories "$ADVISORIES" -trivy-cache "$tmp/trivy" -grype-cache "$tmp/grype" "${built[@]}" ||
    die "generating the databases failed (generator $BIN)"
  rm -rf "$stamp" "$OUT/trivy" "$OUT/grype"
  mv "$tmp/trivy" "$OUT/trivy"
  mv "$tmp/grype" "$OUT/grype"
  echo "$hash" > "$stamp"
fi
flock -u "$OUTLOCK"

echo "TRIVY_CACHE_DIR=$OUT/trivy"
echo "GRYPE_DB_CACHE_DIR=$OUT/grype"
