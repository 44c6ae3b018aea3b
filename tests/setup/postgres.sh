#!/usr/bin/env bash
# Throwaway PostgreSQL for tests (Debian's server, run as user postgres when started as root).
#   tests/setup/postgres.sh start DIR PORT   initdb DIR/data if needed, start on 127.0.0.1:PORT (trust auth)
#   tests/setup/postgres.sh stop DIR         fast shutdown
#   tests/setup/postgres.sh createdb PORT NAME
# Prints nothing on success; the server log is DIR/server.log.
. "$(dirname "$0")/common.sh"
apt_install postgresql-15 postgresql-client-15 >/dev/null
pg_bin() {
  local d
  d=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n1)
  if [ -n "$d" ] && [ -x "$d/$1" ]; then echo "$d/$1"; else command -v "$1"; fi
}
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "${1:-}" in
  start)
    dir=$2 port=$3
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chmod 711 "$(dirname "$dir")" "$dir" 2>/dev/null || true; chown postgres: "$dir"; fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_pg "$(pg_bin initdb)" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-locale -N >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    as_pg "$(pg_bin pg_ctl)" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off -c max_connections=200" \
      start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    ;;
  stop)
    dir=$2
    [ -f "$dir/data/postmaster.pid" ] || exit 0
    as_pg "$(pg_bin pg_ctl)" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
    ;;
  createdb)
    "$(pg_bin psql)" -X -q -h 127.0.0.1 -p "$2" -U postgres -d postgres -c "CREATE DATABASE \"$3\"" >/dev/null
    ;;
  *) echo "usage: $0 start DIR PORT | stop DIR | createdb PORT NAME" >&2; exit 2 ;;
esac
