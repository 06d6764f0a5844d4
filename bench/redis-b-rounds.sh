#!/usr/bin/env bash
# Redis B (process 100,000 jobs) of two anp binaries in interleaved rounds, each run on a fresh
# private redis-server, the order alternating from round to round (a machine whose speed drifts
# favours whichever always runs first: always "before" first once gave a false 1.17×), and
# optionally a peer from the shared peers harness after each pair. STORE=sqlite runs the same
# rounds on SQLite instead: each run on a fresh file in a temp dir (default durability), the
# peer rust-apalis-sqlite.
#
#   bench/redis-b-rounds.sh BEFORE_ANP AFTER_ANP [ROUNDS]      # ROUNDS default 8
#
# Env: STORE (redis, the default, or sqlite), PORT (default 6391) for the private server (data
#      in a temp dir; nothing else touched), JOBS (default 100000), PEERS (a built copy of the
#      shared bench/peers, e.g. /tmp/peers; unset: no peer), PEER (default
#      rust-bullmq-official on Redis, rust-apalis-sqlite on SQLite).
# Prints one line per round (jobs/s and the load average), then the medians and ratios.
# Needs redis-server, redis-cli, python3; the peer needs what its run.sh needs.
set -euo pipefail
before=${1:?usage: bench/redis-b-rounds.sh BEFORE_ANP AFTER_ANP [ROUNDS]}
after=${2:?usage: bench/redis-b-rounds.sh BEFORE_ANP AFTER_ANP [ROUNDS]}
rounds=${3:-8}
port=${PORT:-6391}
jobs=${JOBS:-100000}
store=${STORE:-redis}
case "$store" in
  redis) peer=${PEER:-rust-bullmq-official} ;;
  sqlite) peer=${PEER:-rust-apalis-sqlite} ;;
  *)
    echo "bench/redis-b-rounds.sh: STORE=$store: expected redis or sqlite" >&2
    exit 2
    ;;
esac
for tool in redis-server redis-cli python3 "$before" "$after"; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "bench/redis-b-rounds.sh: $tool not found: expected it on PATH or as a path" >&2
    exit 1
  fi
done
if [[ "$store" == redis ]] && redis-cli -p "$port" ping >/dev/null 2>&1; then
  echo "bench/redis-b-rounds.sh: something already answers on port $port: expected a free port (set PORT)" >&2
  exit 1
fi
dir=$(mktemp -d)
trap 'redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT

# B of binary $1 on a fresh server (or SQLite file): jobs/s.
run() {
  if [[ "$store" == sqlite ]]; then
    rm -f "$dir"/b.db*
    "$1" bench --store "sqlite://$dir/b.db" --phase B --runs 1 --jobs "$jobs" --json \
      2>/dev/null | python3 -c 'import json, sys; print(json.load(sys.stdin)["process_per_s"])'
    rm -f "$dir"/b.db*
    return
  fi
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --dir "$dir" >/dev/null
  until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.1; done
  "$1" bench --store "redis://127.0.0.1:$port" --phase B --runs 1 --jobs "$jobs" --json \
    2>/dev/null | python3 -c 'import json, sys; print(json.load(sys.stdin)["process_per_s"])'
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  while redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.1; done
}

out="$dir/rounds"
for r in $(seq 1 "$rounds"); do
  if ((r % 2)); then
    b=$(run "$before")
    a=$(run "$after")
  else
    a=$(run "$after")
    b=$(run "$before")
  fi
  p=-
  if [[ -n "${PEERS:-}" ]]; then
    # run.sh may exit non-zero from its cleanup after printing its line: the line decides
    line=$(cd "$PEERS" && N="$jobs" RESULTS_FILE='' ./run.sh "$peer" B 2>/dev/null | tail -1) || true
    p=$(python3 -c 'import json, sys; print(round(json.load(sys.stdin)["per_s"]))' <<<"$line")
  fi
  echo "round $r before $b after $a $peer $p load $(cut -d' ' -f1 /proc/loadavg)" | tee -a "$out"
done
python3 - "$out" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
before = [int(r[3]) for r in rows]
after = [int(r[5]) for r in rows]
ratios = [a / b for a, b in zip(after, before)]
mb, ma = statistics.median(before), statistics.median(after)
print(f"median before {mb:.0f}, after {ma:.0f}: after/before {ma / mb:.2f} "
      f"(per round {min(ratios):.2f}-{max(ratios):.2f})")
if rows[0][7] != "-":
    peer = [int(r[7]) for r in rows]
    mp = statistics.median(peer)
    print(f"median {rows[0][6]} {mp:.0f}: after/peer {ma / mp:.2f}, before/peer {mb / mp:.2f}")
EOF
