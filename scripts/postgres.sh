#!/usr/bin/env bash
# A throwaway local PostgreSQL server for the tests: start | stop | url | status.
#
#   URL=$(bash scripts/postgres.sh start)   # prints postgresql+psycopg://lawloop@127.0.0.1:PORT/lawloop_test
#   bash scripts/postgres.sh stop
#
# The cluster lives in `.pg/` under the project (git-ignored): `.pg/data` is
# the data directory, `.pg/postgres.log` the server log, `.pg/port` the port
# (data and log go to a private directory under /tmp instead, recorded in
# `.pg/datadir`, when the server user cannot reach `.pg`).
# It listens on 127.0.0.1 only (no unix socket), trusts local connections
# (superuser `lawloop`, no password) and runs with fsync off: it is for tests,
# never for data you want to keep. `start` is idempotent: it initialises the
# cluster if needed, starts it if it is not running (on a free port), creates
# the database `lawloop_test` if it is missing, and prints the URL on stdout;
# everything else goes to stderr.
#
# Binaries: $LAWLOOP_PG_BIN, else `initdb`/`pg_ctl` on PATH, else the newest
# /usr/lib/postgresql/*/bin (Debian), else /usr/local/pgsql/bin; when none is
# found and we are root on Debian, `apt-get install -y postgresql`. PostgreSQL
# refuses to run as root, so as root every server command runs as the
# `postgres` system user, which then owns the data directory.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
STATE=${LAWLOOP_PG_DIR:-$ROOT/.pg}
DB_NAME=lawloop_test
DB_USER=lawloop
SERVER_USER=postgres # the system user that runs the server when we are root

die() {
  echo "postgres.sh: error: $*" >&2
  exit 1
}
say() { echo "postgres.sh: $*" >&2; }

usage() {
  echo "usage: bash scripts/postgres.sh start|stop|url|status" >&2
  exit 2
}

find_bin() {
  # Prints the directory holding initdb, pg_ctl and postgres, or nothing.
  local dir candidates debian
  if [ -n "${LAWLOOP_PG_BIN:-}" ]; then
    candidates=("$LAWLOOP_PG_BIN") # asked for: that one or none
  else
    mapfile -t debian < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -t/ -k4 -V -r)
    candidates=("$(dirname "$(command -v pg_ctl 2>/dev/null || echo /nonexistent/x)")"
      "${debian[@]}" /usr/local/pgsql/bin)
  fi
  for dir in "${candidates[@]}"; do
    if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ]; then
      # Resolve symlinks (/usr/local/bin/initdb -> /usr/lib/postgresql/15/bin/initdb)
      # so that psql and createdb come from the same installation.
      dirname "$(readlink -f "$dir/pg_ctl")"
      return 0
    fi
  done
}

ensure_bin() {
  BIN=$(find_bin)
  if [ -z "$BIN" ]; then
    if [ -n "${LAWLOOP_PG_BIN:-}" ]; then
      die "LAWLOOP_PG_BIN=$LAWLOOP_PG_BIN holds no initdb, pg_ctl and postgres."
    fi
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
      say "no PostgreSQL server binaries found; installing them: apt-get install -y postgresql"
      export DEBIAN_FRONTEND=noninteractive
      if ! apt-get install -y -q postgresql >&2; then
        apt-get update -q >&2 || true
        apt-get install -y -q postgresql >&2 ||
          die "apt-get install -y postgresql failed (see above); install PostgreSQL yourself or set LAWLOOP_PG_BIN to its bin directory."
      fi
      BIN=$(find_bin)
    fi
    [ -n "$BIN" ] || die "no PostgreSQL server binaries (initdb, pg_ctl, postgres) found on PATH, in /usr/lib/postgresql/*/bin or /usr/local/pgsql/bin. Install PostgreSQL (Debian: apt-get install postgresql; macOS: brew install postgresql) or set LAWLOOP_PG_BIN to its bin directory."
  fi
}

as_server() {
  # Run a command as the user that owns the cluster, from a directory it can read.
  if [ "$(id -u)" -eq 0 ]; then
    if command -v runuser >/dev/null; then
      (cd / && runuser -u "$SERVER_USER" -- "$@")
    else
      (cd / && su "$SERVER_USER" -s /bin/sh -c "$(printf '%q ' "$@")")
    fi
  else
    "$@"
  fi
}

ensure_server_user() {
  [ "$(id -u)" -eq 0 ] || return 0
  if ! id "$SERVER_USER" >/dev/null 2>&1; then
    command -v useradd >/dev/null ||
      die "PostgreSQL refuses to run as root and there is no \`$SERVER_USER\` user to run it as (nor useradd to create one); run this script as a normal user."
    say "creating the system user \`$SERVER_USER\` to run the server (PostgreSQL refuses root)"
    useradd --system --no-create-home --shell /usr/sbin/nologin "$SERVER_USER" ||
      die "could not create the system user \`$SERVER_USER\`."
  fi
}

data_dir() {
  # `.pg/data`, unless the server user cannot reach `.pg` (a project under a
  # private home directory): then a private directory under /tmp, recorded
  # in `.pg/datadir` so that later calls find it.
  if [ -f "$STATE/datadir" ]; then
    cat "$STATE/datadir"
    return
  fi
  if [ "${1:-}" != create ] || as_server test -x "$STATE" 2>/dev/null; then
    echo "$STATE/data"
    return
  fi
  local dir
  dir=$(mktemp -d "${TMPDIR:-/tmp}/lawloop-pg.XXXXXX")
  [ "$(id -u)" -ne 0 ] || chown "$SERVER_USER" "$dir"
  echo "$dir/data" >"$STATE/datadir"
  say "the server user cannot reach $STATE; the data directory is $dir/data"
  echo "$dir/data"
}

running() { as_server "$BIN/pg_ctl" status -D "$DATA" >/dev/null 2>&1; }

free_port() {
  local py
  py=$(command -v python3 || command -v python) || die "python3 is needed to pick a free port."
  "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

init_cluster() {
  if [ -f "$DATA/PG_VERSION" ]; then
    return
  fi
  rm -rf "$DATA" # an initdb that stopped half way
  mkdir -p "$(dirname "$DATA")"
  [ "$(id -u)" -ne 0 ] || chown "$SERVER_USER" "$(dirname "$DATA")"
  say "creating a throwaway cluster in $DATA ($("$BIN/postgres" --version))"
  # C.UTF-8 sorts by code point like SQLite and exists on every glibc system.
  as_server "$BIN/initdb" -D "$DATA" --username="$DB_USER" --auth=trust \
    --encoding=UTF8 --locale=C.UTF-8 >"$STATE/initdb.log" 2>&1 ||
    as_server "$BIN/initdb" -D "$DATA" --username="$DB_USER" --auth=trust \
      --encoding=UTF8 --no-locale >"$STATE/initdb.log" 2>&1 ||
    die "initdb failed; see $STATE/initdb.log:
$(tail -5 "$STATE/initdb.log")"
  cat >>"$DATA/postgresql.conf" <<'EOF'

# lawloop test cluster (scripts/postgres.sh): local only, durability off.
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
EOF
}

start_server() {
  local port try
  port=$(cat "$STATE/port" 2>/dev/null || true)
  for try in 1 2 3; do
    if [ -z "$port" ] || port_in_use "$port"; then
      port=$(free_port)
    fi
    : >"$LOG"
    [ "$(id -u)" -ne 0 ] || chown "$SERVER_USER" "$LOG"
    if as_server "$BIN/pg_ctl" start -D "$DATA" -w -t 60 -l "$LOG" \
      -o "-p $port" >/dev/null; then
      echo "$port" >"$STATE/port"
      say "server started on 127.0.0.1:$port (log: $LOG)"
      return
    fi
    say "start on port $port failed (try $try of 3):"
    tail -5 "$LOG" >&2 || true
    port=""
  done
  die "the server would not start; see $LOG."
}

url() { echo "postgresql+psycopg://$DB_USER@127.0.0.1:$(cat "$STATE/port")/$DB_NAME"; }

psql_() { "$BIN/psql" -X -q -h 127.0.0.1 -p "$(cat "$STATE/port")" -U "$DB_USER" "$@"; }

ensure_database() {
  local have
  have=$(psql_ -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'") ||
    die "cannot connect to the server on 127.0.0.1:$(cat "$STATE/port"); see $LOG."
  if [ "$have" != 1 ]; then
    psql_ -d postgres -c "CREATE DATABASE $DB_NAME" >/dev/null ||
      die "could not create the database $DB_NAME."
  fi
}

cmd=${1:-}
case "$cmd" in
start)
  ensure_bin
  ensure_server_user
  mkdir -p "$STATE"
  [ "$(id -u)" -ne 0 ] || chown "$SERVER_USER" "$STATE"
  DATA=$(data_dir create)
  LOG=$(dirname "$DATA")/postgres.log # where the server user may write
  init_cluster
  if running; then
    [ -f "$STATE/port" ] || die "a server runs on $DATA but $STATE/port is missing; run \`bash scripts/postgres.sh stop\` and start again."
  else
    start_server
  fi
  ensure_database
  url
  ;;
stop)
  [ -d "$STATE" ] || exit 0
  ensure_bin
  DATA=$(data_dir)
  if [ -f "$DATA/PG_VERSION" ] && running; then
    as_server "$BIN/pg_ctl" stop -D "$DATA" -m fast -w >/dev/null
    say "server stopped"
  fi
  ;;
url | status)
  ensure_bin
  [ -d "$STATE" ] || die "no cluster in $STATE; run \`bash scripts/postgres.sh start\`."
  DATA=$(data_dir)
  if [ -f "$DATA/PG_VERSION" ] && running && [ -f "$STATE/port" ]; then
    if [ "$cmd" = status ]; then say "running: $(url)"; else url; fi
  else
    die "the server in $DATA is not running; run \`bash scripts/postgres.sh start\`."
  fi
  ;;
*) usage ;;
esac
