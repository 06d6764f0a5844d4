#!/usr/bin/env bash
# PostgreSQL helpers for run.sh (sourced). Every database this harness creates is named
# anp_peers_<peer>_<round>; it never creates, drops or connects to any other database except
# `postgres` (the maintenance database, for CREATE/DROP DATABASE only).
#   PG_HOST (127.0.0.1), PG_PORT (5432), PG_USER (postgres): the shared server, trust auth.
#   PG_PRIVATE=1: instead start a private cluster (Debian's initdb + pg_ctl) on PG_PRIVATE_PORT
#   (55439) with its data in /tmp/peers-pg-<port>; stopped and removed by pg_stop.
PG_HOST="${PG_HOST:-127.0.0.1}"
PG_USER="${PG_USER:-postgres}"
PG_BIN="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}"
if [ "${PG_PRIVATE:-0}" = 1 ]; then
  PG_PORT="${PG_PRIVATE_PORT:-55439}"
  PG_DIR="/tmp/peers-pg-$PG_PORT"
else
  PG_PORT="${PG_PORT:-5432}"
fi

pg_psql() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" "$@"; }

pg_start() {  # only does something for a private cluster
  [ "${PG_PRIVATE:-0}" = 1 ] || return 0
  if [ "$PG_PORT" = 5432 ]; then echo "PG_PRIVATE_PORT must not be 5432 (the shared server)" >&2; return 1; fi
  if pg_psql -d postgres -Atc 'select 1' >/dev/null 2>&1; then
    [ -f "$PG_DIR/data/PG_VERSION" ] && return 0
    echo "port $PG_PORT is taken by a server this harness did not start" >&2; return 1
  fi
  rm -rf "$PG_DIR"; mkdir -p "$PG_DIR"
  local as=()
  [ "$(id -u)" = 0 ] && { chown postgres "$PG_DIR"; as=(runuser -u postgres --); }
  "${as[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U "$PG_USER" -A trust >"$PG_DIR/initdb.log" 2>&1 || {
    cat "$PG_DIR/initdb.log" >&2; return 1; }
  "${as[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
    -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=$PG_HOST -c max_connections=200" start >/dev/null || {
    cat "$PG_DIR/server.log" >&2; return 1; }
}

pg_stop() {
  [ "${PG_PRIVATE:-0}" = 1 ] || return 0
  [ -f "$PG_DIR/data/PG_VERSION" ] || return 0
  local as=(); [ "$(id -u)" = 0 ] && as=(runuser -u postgres --)
  "${as[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1
  rm -rf "$PG_DIR"
}

# pg_dbname PEER ROUND -> anp_peers_<peer>_<round> (lower case, [a-z0-9_] only)
pg_dbname() { echo "anp_peers_${1}_${2}" | tr 'A-Z-' 'a-z_' | tr -cd 'a-z0-9_'; }

pg_drop_db() {
  case "$1" in anp_peers_*) ;; *) echo "refusing to drop $1" >&2; return 1 ;; esac
  pg_psql -d postgres -c "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)" >/dev/null
}
pg_fresh_db() { pg_drop_db "$1" && pg_psql -d postgres -c "CREATE DATABASE \"$1\"" >/dev/null; }
pg_url() { echo "postgres://$PG_USER@$PG_HOST:$PG_PORT/$1"; }
pg_version() { pg_psql -d postgres -Atc 'show server_version' 2>/dev/null | awk '{print $1}'; }
