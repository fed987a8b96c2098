#!/usr/bin/env bash
# A throw-away PostgreSQL server on 127.0.0.1, for the tests and for trying the prod environment
# locally. Nothing is installed: it needs the PostgreSQL server binaries (initdb, pg_ctl) on PATH
# or under /usr/lib/postgresql/*/bin (Debian/Ubuntu: apt-get install postgresql).
#
#   eval "$(bash scripts/postgres.sh start)"   # start; prints `export ABMATIC_PG_...=` lines
#   bash scripts/postgres.sh stop [DIR]        # stop and delete it (DIR defaults to $ABMATIC_PG_DIR)
#   bash scripts/postgres.sh status [DIR]
#
# `start` creates a fresh data directory (mktemp, or $ABMATIC_PG_DIR when it is set and does not
# exist yet), picks a free port (or $ABMATIC_PG_PORT), trusts local connections (user postgres,
# no password: it listens on 127.0.0.1 only) and creates the database `abmatic`. It prints:
#   ABMATIC_PG_DIR   the folder to pass to `stop` (data in DIR/data, log in DIR/postgres.log)
#   ABMATIC_PG_PORT  the port
#   ABMATIC_PG_URI   postgresql://postgres@127.0.0.1:PORT/abmatic
# and writes the same lines to DIR/env. PostgreSQL refuses to run as root: when run as root, the
# server runs as the `postgres` user (runuser), which must exist.
set -euo pipefail

die() { echo "postgres.sh: $*" >&2; exit 1; }

find_bin() {
  local name=$1 c
  if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return; fi
  for c in /usr/lib/postgresql/*/bin/"$name"; do
    [ -x "$c" ] && { echo "$c"; return; }
  done
  die "'$name' not found: install the PostgreSQL server (Debian/Ubuntu: apt-get install postgresql)"
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || die "running as root needs a 'postgres' user to run the server"
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

cmd=${1:-}
shift || true
case "$cmd" in
  start)
    initdb=$(find_bin initdb)
    pg_ctl=$(find_bin pg_ctl)
    if [ -n "${ABMATIC_PG_DIR:-}" ] && [ ! -e "$ABMATIC_PG_DIR" ]; then
      dir=$ABMATIC_PG_DIR
      mkdir -p "$dir"
    else
      dir=$(mktemp -d "${TMPDIR:-/tmp}/abmatic-pg.XXXXXX")
    fi
    chmod 755 "$dir"
    touch "$dir/.abmatic-pg"   # marks a folder that `stop` may delete
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    port=${ABMATIC_PG_PORT:-$(free_port)}
    as_pg "$initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --no-locale \
      >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    # Throw-away server: no durability needed, which also keeps it light.
    as_pg "$pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=50" \
      >/dev/null || { cat "$dir/postgres.log" >&2; die "the server did not start"; }
    as_pg psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -qAt -c "CREATE DATABASE abmatic" >/dev/null \
      || die "could not create the database 'abmatic'"
    {
      echo "export ABMATIC_PG_DIR=$dir"
      echo "export ABMATIC_PG_PORT=$port"
      echo "export ABMATIC_PG_URI=postgresql://postgres@127.0.0.1:$port/abmatic"
    } | tee "$dir/env"
    ;;
  stop)
    dir=${1:-${ABMATIC_PG_DIR:-}}
    [ -n "$dir" ] || die "usage: postgres.sh stop DIR (or set ABMATIC_PG_DIR)"
    [ -d "$dir" ] || exit 0
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_pg "$(find_bin pg_ctl)" -D "$dir/data" -m fast -w -t 30 stop >/dev/null || true
    fi
    if [ -f "$dir/.abmatic-pg" ]; then
      rm -rf "$dir"
    else
      echo "postgres.sh: stopped; left $dir in place (not a folder this script created)" >&2
    fi
    ;;
  status)
    dir=${1:-${ABMATIC_PG_DIR:-}}
    [ -n "$dir" ] && [ -d "$dir/data" ] || die "no server folder given (DIR or ABMATIC_PG_DIR)"
    as_pg "$(find_bin pg_ctl)" -D "$dir/data" status
    ;;
  *)
    sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
