#!/usr/bin/env bash
# PostgreSQL 15 (Debian postgresql-15) for the results store's tests and for
# trying the PostgreSQL backend by hand.
#
#   scripts/postgres.sh install      apt-get install postgresql-15 if it is missing
#   scripts/postgres.sh path         print the directory of its binaries
#   scripts/postgres.sh start DIR    start a throw-away server with its data in DIR
#                                    (initdb on first use), or find the one running
#                                    there; prints the DSN of its database "headend"
#   scripts/postgres.sh stop DIR     stop it
#
# The tests start servers of their own (internal/pgtest) from the same
# binaries; HEADEND_PG_BIN overrides their directory. As root the server runs
# as the postgres OS user (PostgreSQL refuses root), DIR being given to it.
set -euo pipefail
BIN=${HEADEND_PG_BIN:-/usr/lib/postgresql/15/bin}

say() { echo "postgres.sh: $*" >&2; }

install() {
  if [ -x "$BIN/postgres" ]; then
    say "PostgreSQL is $BIN ($("$BIN/postgres" --version))"
    return
  fi
  command -v apt-get >/dev/null || { say "no apt-get: install PostgreSQL 15 and set HEADEND_PG_BIN to its bin directory"; exit 1; }
  # the package would start a cluster of its own: tests start their own servers
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y postgresql-15; then
    apt-get update && apt-get install -y postgresql-15
  fi
  [ -x "$BIN/postgres" ] || { say "installed, but $BIN/postgres is missing"; exit 1; }
  say "installed $("$BIN/postgres" --version)"
}

# as runs a command as the server's user: postgres when we are root.
as() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

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

dsn() { echo "postgres://postgres@127.0.0.1:$(cat "$1/port")/headend?sslmode=disable"; }

start() {
  local dir=${1:?usage: postgres.sh start DIR}
  [ -x "$BIN/postgres" ] || install
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ "$(id -u)" = 0 ]; then
    chown postgres: "$dir"
    as test -w "$dir" || { say "$dir: the postgres user cannot reach it (a parent directory is closed to it)"; exit 1; }
  fi
  if [ -f "$dir/port" ] && as "$BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    say "already running in $dir"
    dsn "$dir"
    return
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as "$BIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C --no-instructions >"$dir/initdb.log" 2>&1 ||
      { say "initdb failed; see $dir/initdb.log"; exit 1; }
  fi
  free_port >"$dir/port"
  as "$BIN/pg_ctl" -D "$dir/data" -l "$dir/data/postgres.log" -w -t 60 \
    -o "-p $(cat "$dir/port") -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir" start >&2 ||
    { say "postgres did not start; see $dir/data/postgres.log"; exit 1; }
  as "$BIN/psql" -h 127.0.0.1 -p "$(cat "$dir/port")" -U postgres -qAt -c "SELECT 1 FROM pg_database WHERE datname = 'headend'" postgres | grep -q 1 ||
    as "$BIN/createdb" -h 127.0.0.1 -p "$(cat "$dir/port")" -U postgres headend
  dsn "$dir"
}

stop() {
  local dir=${1:?usage: postgres.sh stop DIR}
  if [ ! -f "$dir/data/postmaster.pid" ]; then
    say "nothing running in $dir"
    return
  fi
  as "$BIN/pg_ctl" -D "$dir/data" -m fast -w stop >&2
}

case "${1:-}" in
  install) install ;;
  path) echo "$BIN" ;;
  start) start "${2:-}" ;;
  stop) stop "${2:-}" ;;
  *)
    sed -n '2,15p' "$0" >&2
    exit 2
    ;;
esac
