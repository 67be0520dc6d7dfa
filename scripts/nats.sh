#!/usr/bin/env bash
# NATS server (Debian nats-server 2.9.10) for the JetStream reads path
# (store/jetstream) and its tests: three servers in a JetStream cluster,
# streams replicated 3 times.
#
#   scripts/nats.sh install      apt-get install nats-server when missing, and
#                                check that it runs JetStream in a cluster
#   scripts/nats.sh path         print the binary's path
#
# The tests start their own cluster from that binary (internal/natstest: free
# loopback ports, temp dirs); HEADEND_NATS_SERVER overrides the binary. The
# Debian package's systemd unit is not used.
set -euo pipefail
BIN=${HEADEND_NATS_SERVER:-$(command -v nats-server || echo /usr/bin/nats-server)}

say() { echo "nats.sh: $*" >&2; }

install() {
  if [ ! -x "$BIN" ]; then
    say "installing Debian's nats-server"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y nats-server >/dev/null 2>&1 ||
      { apt-get update >/dev/null && apt-get install -y nats-server >/dev/null; } ||
      { say "apt-get install nats-server failed"; exit 1; }
    BIN=$(command -v nats-server)
  fi
  # 2.9 is the first line whose JetStream clustering (RAFT meta group,
  # replicated file streams, Nats-Msg-Id deduplication, work-queue
  # retention) is what store/jetstream needs; older builds lack parts.
  local v
  v=$("$BIN" --version | sed -n 's/.*v\([0-9][0-9.]*\).*/\1/p')
  case "$v" in
    2.9.* | 2.1[0-9].*) ;;
    *) say "$BIN is nats-server $v; 2.9 or later is needed (JetStream clustering)"; exit 1 ;;
  esac
  say "nats-server $v is $BIN"
}

case "${1:-}" in
  install) install ;;
  path) echo "$BIN" ;;
  *)
    sed -n '2,11p' "$0" >&2
    exit 2
    ;;
esac
