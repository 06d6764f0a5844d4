#!/usr/bin/env bash
# Churn run on PostgreSQL (issue 18): `anp bench --churn` (a steady enqueue at RATE jobs/s into one
# worker whose maintenance prunes completed jobs older than KEEP) while this script samples the
# jobs table every SAMPLE_S seconds: live and dead tuples, table and index size, vacuum counts.
# The database is its own (DB, created here and dropped at the end); nothing else is touched.
#   bench/postgres-churn.sh                       # 10 minutes at 1,000 jobs/s, shared server
#   PG_PRIVATE=1 bench/postgres-churn.sh          # on a private cluster (PostgreSQL's defaults)
# Env: ANP (target/release/anp), DURATION (10m), RATE (1000), KEEP (1m), SAMPLE_S (30),
#      CONC (50), PG_HOST/PG_PORT/PG_USER (127.0.0.1, 5432, postgres), DB (anp_churn_<pid>),
#      OUT (a new /tmp/anp-churn.XXXXXX): samples.tsv, bench.json, bench.err.
#      PG_PRIVATE=1 starts a private cluster (initdb + pg_ctl) on PG_PRIVATE_PORT (55441) in
#      /tmp/anp-churn-pg-<port>, removed at the end.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ANP="${ANP:-$ROOT/target/release/anp}"
DURATION="${DURATION:-10m}"; RATE="${RATE:-1000}"; KEEP="${KEEP:-1m}"; SAMPLE_S="${SAMPLE_S:-30}"
CONC="${CONC:-50}"
PG_HOST="${PG_HOST:-127.0.0.1}"; PG_USER="${PG_USER:-postgres}"
DB="${DB:-anp_churn_$$}"
OUT="${OUT:-$(mktemp -d /tmp/anp-churn.XXXXXX)}"
mkdir -p "$OUT"
case "$DB" in anp_churn_*) ;; *) echo "DB must start with anp_churn_ (got $DB)" >&2; exit 2 ;; esac
[ -x "$ANP" ] || { echo "no anp binary at $ANP: cargo build --release -p anp" >&2; exit 2; }

PG_BIN="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}"
if [ "${PG_PRIVATE:-0}" = 1 ]; then
  PG_PORT="${PG_PRIVATE_PORT:-55441}"
  [ "$PG_PORT" != 5432 ] || { echo "PG_PRIVATE_PORT must not be 5432" >&2; exit 2; }
  PG_DIR="/tmp/anp-churn-pg-$PG_PORT"
else
  PG_PORT="${PG_PORT:-5432}"
fi
psql_() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" "$@"; }
as_pg=(); [ "$(id -u)" = 0 ] && as_pg=(runuser -u postgres --)

BENCH_PID=""
cleanup() {
  [ -n "$BENCH_PID" ] && kill "$BENCH_PID" 2>/dev/null && wait "$BENCH_PID" 2>/dev/null
  psql_ -d postgres -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1 || true
  if [ "${PG_PRIVATE:-0}" = 1 ] && [ -f "$PG_DIR/data/PG_VERSION" ]; then
    "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
}
trap cleanup EXIT

if [ "${PG_PRIVATE:-0}" = 1 ]; then
  if psql_ -d postgres -Atc 'select 1' >/dev/null 2>&1; then
    echo "port $PG_PORT is taken by a server this script did not start" >&2; exit 1
  fi
  rm -rf "$PG_DIR"; mkdir -p "$PG_DIR"; [ "$(id -u)" = 0 ] && chown postgres "$PG_DIR"
  "${as_pg[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U "$PG_USER" -A trust >"$PG_DIR/initdb.log" 2>&1
  "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
    -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=$PG_HOST" start >/dev/null
fi
psql_ -d postgres -c "CREATE DATABASE \"$DB\"" >/dev/null
URL="postgres://$PG_USER@$PG_HOST:$PG_PORT/$DB"

{
  echo "# $(date -u +%FT%TZ) churn: DURATION=$DURATION RATE=$RATE KEEP=$KEEP CONC=$CONC on $PG_HOST:$PG_PORT/$DB"
  echo "# server: $(psql_ -d postgres -Atc "select version()")"
  echo "# settings: $(psql_ -d postgres -Atc "select string_agg(name || '=' || setting, ' ' order by name) from pg_settings where name in ('autovacuum','autovacuum_naptime','autovacuum_vacuum_cost_delay','autovacuum_vacuum_cost_limit','shared_buffers','synchronous_commit')")"
  echo "# load: $(uptime)"
} | tee "$OUT/samples.tsv"
printf 't_s\tn_live_tup\tn_dead_tup\ttable_mb\tindexes_mb\ttotal_mb\tautovacuum_count\tlast_autovacuum\tload1\n' | tee -a "$OUT/samples.tsv"

"$ANP" --json --store "$URL" bench --churn "$DURATION" --rate "$RATE" --churn-keep "$KEEP" \
  --churn-every "${SAMPLE_S}s" --concurrency "$CONC" --timeout 10m >"$OUT/bench.json" 2>"$OUT/bench.err" &
BENCH_PID=$!
start=$(date +%s)
while kill -0 "$BENCH_PID" 2>/dev/null; do
  row=$(psql_ -d "$DB" -AtF $'\t' -c "
    SELECT n_live_tup, n_dead_tup,
           round(pg_relation_size('jobs') / 1048576.0, 1), round(pg_indexes_size('jobs') / 1048576.0, 1),
           round(pg_total_relation_size('jobs') / 1048576.0, 1), autovacuum_count,
           coalesce(to_char(last_autovacuum AT TIME ZONE 'UTC', 'HH24:MI:SS'), '-')
    FROM pg_stat_user_tables WHERE relname = 'jobs'" 2>/dev/null || true)
  [ -n "$row" ] && printf '%s\t%s\t%s\n' "$(( $(date +%s) - start ))" "$row" "$(cut -d' ' -f1 /proc/loadavg)" | tee -a "$OUT/samples.tsv"
  for _ in $(seq 1 "$SAMPLE_S"); do kill -0 "$BENCH_PID" 2>/dev/null || break; sleep 1; done
done
set +e; wait "$BENCH_PID"; rc=$?; BENCH_PID=""; set -e
cat "$OUT/bench.json"
echo "# bench exit $rc; results in $OUT" >&2
exit "$rc"
