#!/usr/bin/env bash
# InfluxDB 1.8.10 for the store's tests and for trying the InfluxDB backend by
# hand. It serves the 2.x write and Flux API that influxdb-client-go/v2 speaks.
#
#   scripts/influxd.sh install      build the server once into the cache (a few minutes)
#   scripts/influxd.sh path         print the binary's path
#   scripts/influxd.sh start DIR    start a server with its data in DIR, or find the one
#                                   running there; prints its URL
#   scripts/influxd.sh stop DIR     stop it
#
# The cache is ${HEADEND_CACHE:-$HOME/.cache/headend}. store/influx's tests start
# a private server of their own from the same binary (HEADEND_INFLUXD overrides it).
set -euo pipefail
VERSION=1.8.10
CACHE=${HEADEND_CACHE:-$HOME/.cache/headend}
BIN=${HEADEND_INFLUXD:-$CACHE/influxd-$VERSION/influxd}

say() { echo "influxd.sh: $*" >&2; }

install() {
  if [ -x "$BIN" ]; then
    say "influxd $VERSION is $BIN"
    return
  fi
  command -v go >/dev/null || { say "go is not on PATH: it is needed to build influxd"; exit 1; }
  local dir log start
  dir=$(dirname "$BIN")
  mkdir -p "$dir"
  log="$dir/build.log"
  start=$(date +%s)
  say "building influxd $VERSION into $dir (go install; a few minutes on 2 cores; log in $log)"
  # Outside the module, so that the server's dependencies stay out of go.mod.
  # -v names each package as it is built: the progress.
  if ! (cd / && GOBIN="$dir" GOFLAGS=-mod=mod go install -v "github.com/influxdata/influxdb/cmd/influxd@v$VERSION") 2>&1 |
    tee "$log" | awk '{ if (++n % 50 == 0) { printf "influxd.sh: %d packages built\n", n > "/dev/stderr" } }'; then
    say "build failed; see $log"
    exit 1
  fi
  [ -x "$BIN" ] || { say "build finished but $BIN is missing; see $log"; exit 1; }
  say "built $BIN in $(($(date +%s) - start)) s"
}

# free_port prints a loopback port nothing listens on, below Linux's
# ephemeral range.
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + (RANDOM % 10000)))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  say "no free port found"
  exit 1
}

running() { # running DIR: the server started in DIR is alive and answers
  local dir=$1
  [ -f "$dir/influxd.pid" ] && [ -f "$dir/influxd.url" ] &&
    kill -0 "$(cat "$dir/influxd.pid")" 2>/dev/null &&
    curl -fsS -o /dev/null "$(cat "$dir/influxd.url")/ping" 2>/dev/null
}

start() {
  local dir=${1:?usage: influxd.sh start DIR}
  [ -x "$BIN" ] || install
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if running "$dir"; then
    say "already running (pid $(cat "$dir/influxd.pid"))"
    cat "$dir/influxd.url"
    return
  fi
  local http rpc url pid
  http=$(free_port)
  rpc=$(free_port)
  [ "$rpc" != "$http" ] || rpc=$(free_port)
  url="http://127.0.0.1:$http"
  cat >"$dir/influxd.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$rpc"
[meta]
  dir = "$dir/meta"
  logging-enabled = false
[data]
  dir = "$dir/data"
  wal-dir = "$dir/wal"
  index-version = "tsi1"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:$http"
  flux-enabled = true
  log-enabled = false
[logging]
  level = "warn"
  suppress-logo = true
[continuous_queries]
  enabled = false
CONF
  "$BIN" run -config "$dir/influxd.conf" >>"$dir/influxd.log" 2>&1 &
  pid=$!
  echo "$pid" >"$dir/influxd.pid"
  echo "$url" >"$dir/influxd.url"
  say "started pid $pid in $dir; waiting for $url/ping (Flux takes some seconds to load)"
  local deadline=$((SECONDS + 90))
  while ((SECONDS < deadline)); do
    if curl -fsS -o /dev/null "$url/ping" 2>/dev/null; then
      echo "$url"
      return
    fi
    kill -0 "$pid" 2>/dev/null || { say "influxd exited; see $dir/influxd.log"; exit 1; }
    sleep 0.2
  done
  say "influxd did not answer $url/ping within 90 s; see $dir/influxd.log"
  exit 1
}

stop() {
  local dir=${1:?usage: influxd.sh stop DIR}
  local pid
  if [ ! -f "$dir/influxd.pid" ]; then
    say "nothing started in $dir"
    return
  fi
  pid=$(cat "$dir/influxd.pid")
  if kill "$pid" 2>/dev/null; then
    local deadline=$((SECONDS + 30))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      say "pid $pid still running after 30 s: SIGKILL"
      kill -9 "$pid" 2>/dev/null || true
    fi
    say "stopped pid $pid"
  fi
  rm -f "$dir/influxd.pid" "$dir/influxd.url"
}

case "${1:-}" in
  install) install ;;
  path) echo "$BIN" ;;
  start) start "${2:-}" ;;
  stop) stop "${2:-}" ;;
  *)
    sed -n '2,12p' "$0" >&2
    exit 2
    ;;
esac
