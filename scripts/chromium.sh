#!/usr/bin/env bash
# Debian's Chromium for the dashboard's browser tests (api/web), which drive it
# headless through chromedp.
#
#   scripts/chromium.sh install     apt-get install chromium when /usr/bin/chromium is missing
#   scripts/chromium.sh path        print the binary's path (exit 1 when missing)
#
# Needs root (or sudo) and Debian's package lists; prints each step it takes.
set -euo pipefail
BIN=${HEADEND_CHROMIUM:-/usr/bin/chromium}

say() { echo "chromium.sh: $*" >&2; }

install() {
  if [ -x "$BIN" ]; then
    say "chromium is $BIN ($("$BIN" --version 2>/dev/null || echo 'version unknown'))"
    return
  fi
  command -v apt-get >/dev/null || { say "$BIN is missing and apt-get is not here: install Chromium by hand"; exit 1; }
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { say "not root and no sudo: run as root to install chromium"; exit 1; }
    sudo=sudo
  fi
  say "$BIN is missing: running apt-get update"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
  say "running apt-get install -y --no-install-recommends chromium fonts-liberation"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-liberation
  [ -x "$BIN" ] || { say "apt-get finished but $BIN is missing"; exit 1; }
  say "installed $("$BIN" --version 2>/dev/null || echo "$BIN")"
}

case "${1:-}" in
install) install ;;
path)
  [ -x "$BIN" ] || { say "$BIN is missing: run scripts/chromium.sh install"; exit 1; }
  echo "$BIN"
  ;;
*)
  echo "usage: $0 install|path" >&2
  exit 2
  ;;
esac
