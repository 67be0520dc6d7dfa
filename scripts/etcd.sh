#!/usr/bin/env bash
# Debian's etcd-server (3.4) for the cluster's tests (cluster/, internal/etcdtest),
# which start a private server of their own on free loopback ports.
#
#   scripts/etcd.sh install     apt-get install etcd-server when /usr/bin/etcd is missing
#   scripts/etcd.sh path        print the binary's path (exit 1 when missing)
#
# HEADEND_ETCD overrides the binary's path. Needs root (or sudo) to install.
# The package enables a systemd unit; where systemd runs, the script stops and
# disables it, so that no shared server listens on 2379.
set -euo pipefail
BIN=${HEADEND_ETCD:-/usr/bin/etcd}

say() { echo "etcd.sh: $*" >&2; }

install() {
  if [ -x "$BIN" ]; then
    say "etcd is $BIN ($("$BIN" --version 2>/dev/null | sed -n 1p || echo 'version unknown'))"
    return
  fi
  command -v apt-get >/dev/null || { say "$BIN is missing and apt-get is not here: install etcd 3.4 by hand"; exit 1; }
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { say "not root and no sudo: run as root to install etcd-server"; exit 1; }
    sudo=sudo
  fi
  say "running apt-get install -y etcd-server"
  if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q etcd-server; then
    say "install failed: running apt-get update and trying again"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q etcd-server
  fi
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    $sudo systemctl disable --now etcd >/dev/null 2>&1 || true
  fi
  [ -x "$BIN" ] || { say "apt-get finished but $BIN is missing"; exit 1; }
  say "installed $("$BIN" --version 2>/dev/null | sed -n 1p || echo "$BIN")"
}

case "${1:-}" in
install) install ;;
path)
  [ -x "$BIN" ] || { say "$BIN is missing: run scripts/etcd.sh install"; exit 1; }
  echo "$BIN"
  ;;
*)
  echo "usage: $0 install|path" >&2
  exit 2
  ;;
esac
