#!/usr/bin/env bash
# InfluxDB 1.8.10 for the store's tests and for trying the InfluxDB backend by
# hand. It serves the 2.x write and Flux API that influxdb-client-go/v2 speaks.
#
#   scripts/influxd.sh install      build the server once into the cache (about 2 minutes)
#   scripts/influxd.sh path         print the binary's path
#   scripts/influxd.sh start DIR    start a server with its data in DIR; prints its URL
#   scripts/influxd.sh stop DIR     stop it
#
# The cache is ${HEADEND_CACHE:-$HOME/.cache/headend}. store/influx's tests start
# a private server of their own from the same binary (HEADEND_INFLUXD overrides it).
set -euo pipefail
VERSION=1.8.10
CACHE=${HEADEND_CACHE:-$HOME/.cache/headend}
BIN=${HEADEND_INFLUXD:-$CACHE/influxd-$VERSION/influxd}

install() {
  if [ -x "$BIN" ]; then
    echo "influxd $VERSION: $BIN"
    return
  fi
  echo "influxd $VERSION: building into $(dirname "$BIN") (go install, about 2 minutes on 2 cores) ..."
  mkdir -p "$(dirname "$BIN")"
  # outside the module, so that the server's dependencies stay out of go.mod
  (cd / && GOBIN="$(dirname "$BIN")" GOFLAGS=-mod=mod go install "github.com/influxdata/influxdb/cmd/influxd@v$VERSION")
  echo "influxd $VERSION: built $BIN"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start() {
  local dir=${1:?usage: influxd.sh start DIR}
  install >/dev/null
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  local http rpc
  http=$(free_port)
  rpc=$(free_port)
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
  "$BIN" run -config "$dir/influxd.conf" >"$dir/influxd.log" 2>&1 &
  echo $! >"$dir/influxd.pid"
  for _ in $(seq 1 200); do
    if curl -fsS "http://127.0.0.1:$http/ping" >/dev/null 2>&1; then
      echo "http://127.0.0.1:$http"
      return
    fi
    kill -0 "$(cat "$dir/influxd.pid")" 2>/dev/null || { echo "influxd exited; see $dir/influxd.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "influxd did not answer /ping within 20 s; see $dir/influxd.log" >&2
  exit 1
}

stop() {
  local dir=${1:?usage: influxd.sh stop DIR}
  [ -f "$dir/influxd.pid" ] && kill "$(cat "$dir/influxd.pid")" 2>/dev/null || true
  rm -f "$dir/influxd.pid"
}

case "${1:-}" in
  install) install ;;
  path) echo "$BIN" ;;
  start) start "${2:-}" ;;
  stop) stop "${2:-}" ;;
  *) sed -n '2,11p' "$0"; exit 2 ;;
esac
