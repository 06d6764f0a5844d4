#!/usr/bin/env bash
# alphanode and the PostgreSQL peers in the same run, on the same server (issue 18): ROUNDS rounds
# of alphanode (`anp bench --runs 1`, the standard workload, on a fresh database), then each peer
# (`./run.sh PEER all`, the order rotated each round), so machine drift hits all alike. Then the
# medians per peer and alphanode's ratios: B and A against the fastest peer, C p99 against 5 ms.
#   ROUNDS=3 ./same-run.sh                 # the shared server (127.0.0.1:5432)
#   PG_PRIVATE=1 ROUNDS=3 ./same-run.sh    # a private cluster (lib/pg.sh), PostgreSQL's defaults
# Env: ANP (../../target/release/anp), ROUNDS (3), PEERS ("graphile-worker pg-boss
#      rust-apalis-postgres"), OUT (a new /tmp/pg-same-run.XXXXXX) and run.sh's knobs (N, CONC, ...).
# alphanode's database is anp_peers_alphanode_<round> (lib/pg.sh's naming), dropped after.
set -uo pipefail
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$DIR"
source lib/pg.sh
ANP="${ANP:-$DIR/../../target/release/anp}"
ROUNDS="${ROUNDS:-3}"
read -r -a PEERS <<<"${PEERS:-graphile-worker pg-boss rust-apalis-postgres}"
OUT="${OUT:-$(mktemp -d /tmp/pg-same-run.XXXXXX)}"
mkdir -p "$OUT"
LINES="$OUT/lines.jsonl"
[ -x "$ANP" ] || { echo "no anp binary at $ANP: cargo build --release -p anp" >&2; exit 2; }
export RESULTS_FILE=""

pg_start || exit 1
trap 'pg_stop' EXIT
echo "# $(date -u +%FT%TZ) same run: $ROUNDS rounds, alphanode + ${PEERS[*]}, server $(pg_version) on $PG_HOST:$PG_PORT" >&2

alphanode() {  # one standard-workload run of anp bench; its figures as run.sh's JSON lines
  local r="$1" db; db="$(pg_dbname alphanode "$r")"
  pg_fresh_db "$db" || return
  local load; load="$(cut -d' ' -f1-3 /proc/loadavg)"
  if "$ANP" --json --store "$(pg_url "$db")" bench --runs 1 --concurrency "${CONC:-50}" \
      --jobs "${N:-100000}" --single-jobs "${A1_N:-10000}" --latency-jobs "${C_N:-2000}" \
      --rate "${C_RATE:-500}" >"$OUT/alphanode-$r.json" 2>"$OUT/alphanode-$r.err"; then
    jq -c --arg date "$(date -u +%FT%TZ)" --arg load "$load" '
      . as $b | ($b.runs.each[0]) as $e |
      {peer: "alphanode", version: ("anp " + $b.runs.profile), backend: ("postgresql-" + $b.runs.server_version), date: $date, load: $load} as $h |
      ($h + {workload: "A", per_s: $e.enqueue_per_s}),
      ($h + {workload: "A1", per_s: $e.enqueue_single_per_s}),
      ($h + {workload: "B", per_s: $e.process_per_s, peak_rss_mib: $e.peak_rss_mib}),
      ($h + {workload: "C", p50_ms: $e.latency_p50_ms, p99_ms: $e.latency_p99_ms,
             extra: {late_sends: $e.late_sends, sent_per_s: $e.sent_per_s}})' "$OUT/alphanode-$r.json"
  else
    jq -cn --arg err "$(tail -c 2000 "$OUT/alphanode-$r.err")" '{peer: "alphanode", error: $err}'
  fi
  pg_drop_db "$db"
}

for r in $(seq 1 "$ROUNDS"); do
  echo "# round $r: alphanode ($(date -u +%TZ), load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  alphanode "$r" | tee -a "$LINES"
  k=${#PEERS[@]}
  for j in $(seq 0 $((k - 1))); do
    p="${PEERS[$(((j + r - 1) % k))]}"
    echo "# round $r: $p ($(date -u +%TZ), load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    ROUND=$r KEEP_PG=1 ./run.sh "$p" all | jq -c --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" '. + {load: $load}' | tee -a "$LINES"
  done
done

echo "# medians over $ROUNDS rounds (lines: $LINES)" >&2
jq -rs '
  def med: map(select(. != null)) | sort | if length == 0 then null elif length % 2 == 1 then .[length/2|floor] else (.[length/2-1] + .[length/2]) / 2 end;
  def r1: if . == null then "-" else (. * 10 | round / 10 | tostring) end;
  [group_by(.peer)[] | . as $g | {peer: $g[0].peer, version: $g[0].version,
     A: ([$g[] | select(.workload=="A") | .per_s] | med),
     A1: ([$g[] | select(.workload=="A1") | .per_s] | med),
     B: ([$g[] | select(.workload=="B") | .per_s] | med),
     p50: ([$g[] | select(.workload=="C") | .p50_ms] | med),
     p99: ([$g[] | select(.workload=="C") | .p99_ms] | med),
     rss: ([$g[] | select(.workload=="B") | .peak_rss_mib] | med)}] as $m |
  ($m | map(select(.peer == "alphanode")) | .[0]) as $a |
  ($m | map(select(.peer != "alphanode"))) as $p |
  (["peer","version","A/s","A1/s","B/s","C p50 ms","C p99 ms","RSS MiB"] | @tsv),
  ($m[] | [.peer, .version, (.A|r1), (.A1|r1), (.B|r1), (.p50|r1), (.p99|r1), (.rss|r1)] | @tsv),
  "",
  ("B: alphanode / fastest peer = " + (($a.B / ($p | map(.B // 0) | max)) * 100 | round / 100 | tostring) + " (goal >= 2)"),
  ("A: alphanode / fastest peer = " + (($a.A / ($p | map(.A // 0) | max)) * 100 | round / 100 | tostring) + " (goal >= 1.5)"),
  ("C: alphanode p99 = " + ($a.p99 | r1) + " ms (goal <= 5)")' "$LINES" | tee "$OUT/medians.txt"
