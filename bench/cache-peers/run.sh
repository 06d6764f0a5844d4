#!/usr/bin/env bash
# Cache get-hit throughput: alphanode (`anp bench --cache`) against the `cached` crate's async
# Redis store (bench/cache-peers/cached-redis), same workload, same server, same run.
#
#   bench/cache-peers/run.sh redis://127.0.0.1:6391
#
# Builds both in release (the workspace's anp, the peer in its own project), then runs them
# alternately against URL for $ROUNDS rounds (default 3; odd rounds anp first, even rounds the
# peer first, so drift of the machine hits both alike). Each anp invocation is one whole
# `anp bench --cache --runs $RUNS --json` (get-hit from the store with L1 off, redis-benchmark
# GET beside it, get-hit with L1, one L1 hit, stampede, tag purge, bytes per entry); each peer
# invocation prefills its keys and reads them $RUNS times (default 1). Workload of both: 50
# callers (CONC), 1,000 keys (KEYS), 1 KiB values (VALUE_BYTES), 200,000 reads per run (READS).
#
# Prints every raw line, then the medians over all runs and the ratios; the raw output is kept
# in $OUT (default a new directory under /tmp). Point it at a private server
# (`redis-server --port 6391 --save '' --appendonly no`): it writes ~101k keys under
# anp-bench-* and deletes them again, but never flushes anything. Port 6379 is refused unless
# ALLOW_6379=1.
#
# PIN=1 gives the server a core of its own: the redis-server behind URL (a local one: its pid
# from INFO server) is moved to CPU 0 with `taskset -p` for the run (and back to every CPU after
# it), and both clients run on CPU 1 (`taskset -c 1`; Tokio then starts one worker for each).
# On a 2-core machine the unpinned run has the server, the client's threads and their hand-offs
# compete for both cores; pinned, each side's cost is its own (BENCHMARKS.md, "cache read
# coalescing led by the callers").
#
# Needs cargo, jq, and redis-benchmark / redis-cli on PATH for the Redis ceiling and memory
# figures (without them those figures are null); taskset with PIN=1.
set -euo pipefail

url=${1:-}
if [[ -z "$url" || "$url" != redis://* ]]; then
  echo "usage: $0 redis://host:port   (a private server: see the comment at the top)" >&2
  exit 2
fi
if [[ "$url" =~ :6379(/|$) && "${ALLOW_6379:-}" != 1 ]]; then
  echo "$0: refusing port 6379 (the shared server); start a private one, or set ALLOW_6379=1" >&2
  exit 2
fi

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ROUNDS=${ROUNDS:-3}
RUNS=${RUNS:-1}
CONC=${CONC:-50}
KEYS=${KEYS:-1000}
VALUE_BYTES=${VALUE_BYTES:-1024}
READS=${READS:-200000}
OUT=${OUT:-$(mktemp -d /tmp/cache-peers.XXXXXX)}
mkdir -p "$OUT"

echo "== building (release)" >&2
(cd "$root" && cargo build --release --locked -p anp)
(cd "$here/cached-redis" && cargo build --release --locked)
target_dir=$(cd "$root" && cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
anp="$target_dir/release/anp"
peer="$here/cached-redis/target/release/bench-cached-redis"

client=()
if [[ "${PIN:-}" == 1 ]]; then
  server_pid=$(redis-cli -u "$url" INFO server | tr -d '\r' | awk -F: '/^process_id:/ {print $2}')
  if [[ -z "$server_pid" ]] || ! taskset -pc 0 "$server_pid" >/dev/null; then
    echo "$0: PIN=1 needs a local redis-server whose process this user may move (pid: ${server_pid:-unknown})" >&2
    exit 2
  fi
  trap 'taskset -pc "0-$(($(nproc) - 1))" "$server_pid" >/dev/null 2>&1 || true' EXIT
  client=(taskset -c 1)
fi

ours() {
  "${client[@]}" "$anp" bench --cache --store "$url" --json --runs "$RUNS" --concurrency "$CONC" \
    --cache-keys "$KEYS" --value-bytes "$VALUE_BYTES" --cache-reads "$READS" \
    | jq -c --arg round "$1" '. + {round: ($round | tonumber)}' | tee -a "$OUT/anp.jsonl"
}
theirs() {
  "${client[@]}" "$peer" --url "$url" --runs "$RUNS" --concurrency "$CONC" --keys "$KEYS" \
    --value-bytes "$VALUE_BYTES" --reads "$READS" \
    | jq -c --arg round "$1" '. + {round: ($round | tonumber)}' | tee -a "$OUT/peer.jsonl"
}

{
  echo "date: $(date -u +%FT%TZ)"
  echo "commit: $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- crates || echo ' (with uncommitted changes)')"
  echo "machine: $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "redis: $(redis-cli -u "$url" INFO server 2>/dev/null | tr -d '\r' | awk -F: '/^redis_version:/ {print $2}')"
  echo "rustc: $(rustc --version)"
  echo "workload: concurrency $CONC, $KEYS keys, $VALUE_BYTES B values, $READS reads per run, $RUNS run(s) per invocation, $ROUNDS rounds"
  echo "pinned: ${PIN:-0} (1: redis-server on CPU 0, the clients on CPU 1)"
} | tee "$OUT/facts.txt" >&2

for ((r = 1; r <= ROUNDS; r++)); do
  echo "== round $r/$ROUNDS ($(date -u +%T))" >&2
  if ((r % 2 == 1)); then ours "$r"; theirs "$r"; else theirs "$r"; ours "$r"; fi
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/facts.txt" >&2

# Medians: the middle value of the sorted list (the upper middle for an even count, as anp does).
jq -n -r --slurpfile a "$OUT/anp.jsonl" --slurpfile p "$OUT/peer.jsonl" '
  def med: sort | .[(length / 2 | floor)];
  def med_or_null: map(select(. != null)) | if length == 0 then null else med end;
  def r(x): if x == null then "-" else (x * 100 | round / 100 | tostring) end;
  ($a | map(.store_hits_per_s) | med) as $ours
  | ($p | map(.reads_per_s) | med) as $peer
  | ($a | map(.redis_benchmark_get_per_s) | med_or_null) as $rb
  | ($a | map(.ratio_to_redis_benchmark) | med_or_null) as $ratio_rb
  | [range(0; $a | length) as $i
      | ($p | map(select(.round == $a[$i].round)) | map(.reads_per_s) | med) as $pr
      | $a[$i].store_hits_per_s / $pr] as $per_round
  | "",
    "medians over \($a | length) anp invocation(s) and \($p | length) peer run(s):",
    "  ours, get-hit from the store (L1 off)  \($ours | round) reads/s",
    "  cached-redis 4.1.0, get-hit            \($peer | round) reads/s",
    "  redis-benchmark -t get                 \(if $rb == null then "-" else ($rb | round | tostring) end) reads/s",
    "  ours, get-hit with L1                  \($a | map(.l1_hits_per_s) | med | round) reads/s",
    "  one L1 hit (median)                    \($a | map(.l1_hit_median_ns) | med | round) ns",
    "  stampede computes (200 callers)        \($a | map(.stampede_computes) | med)",
    "  tag purge of \($a[0].tag_entries) entries           \($a | map(.tag_purge_ms) | med | r(.)) ms",
    "  store bytes per entry over the value   \($a | map(.bytes_per_entry_over_value) | med | round)",
    "  Redis used_memory per entry over value \($a | map(.redis_bytes_per_entry_over_value) | med_or_null | if . == null then "-" else round end)",
    "ratios:",
    "  ours / cached-redis (medians)          \(r($ours / $peer))  (per round: \($per_round | map(r(.)) | join(", ")))",
    "  ours / redis-benchmark GET             \(r($ratio_rb))  (median of the per-run ratios anp measures back to back)"
' | tee "$OUT/summary.txt"
echo "raw output in $OUT" >&2
