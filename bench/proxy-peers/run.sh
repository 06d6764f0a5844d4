#!/usr/bin/env bash
# HTTP cache HIT path: `anp proxy` against Varnish and nginx `proxy_cache`, same upstream, same
# pages, same load generator, same run (issue 15, "Speed").
#
#   bench/proxy-peers/run.sh
#
# Starts, on free loopback ports, in a temp dir:
#   - the upstream: nginx serving a 2 KiB HTML page (/page.html) and a 100 KiB asset
#     (/asset.bin) straight from disk;
#   - anp proxy with the in-memory L1 over an SQLite store (`anp-l1`), and anp proxy over a
#     private redis-server with L1 off (`anp-redis`, every HIT read from Redis);
#   - Varnish (`varnishd`, the VCL that `anp cache rules export --format varnish` prints for
#     the same rules file, so both make the same decisions);
#   - nginx with `proxy_cache` (1 h for 200, the textbook config).
# Each front is warmed, then `wrk -t2 -c$CONN -d$SECS --latency` drives the page and the asset
# through it; fronts are interleaved over $ROUNDS rounds (the order rotates each round, so drift
# of the machine hits all alike). Then the BYPASS cost: the page with an `Authorization` header
# through anp proxy (bypassed by the rules) against the upstream directly, and the coalescing
# check: 100 concurrent cold requests through anp proxy, counted in the upstream's access log.
#
# Prints one JSON line per measurement (kept in $OUT/raw.jsonl), then medians and ratios.
# Needs: cargo, jq, wrk, nginx, varnishd, redis-server (Debian: wrk nginx varnish
# varnish-modules redis-server). The load generator shares the 2 cores with the server under
# test, as it does for every front: compare ratios, not absolute figures.
#
# Then the same at fixed offered rates (open loop, as a site sees traffic: RATES, default
# "10000 25000" requests a second over the same $CONN connections), with `oha -q RATE
# --latency-correction` (latency counted from when each request was due, so a stall is not
# hidden by the generator waiting for it; requests still in flight when the time is up are not
# errors): every front's page HIT, the upstream directly, and
# the BYPASS through anp proxy. A closed-loop run at saturation measures queueing (Little's law:
# 50 connections at 80,000 req/s is 0.6 ms each on average, whatever the server); a rate below
# every front's ceiling measures what a request costs at that load. RATES= skips it (and oha).
#
# PIN=1 separates them: every server (upstream, fronts, redis-server) runs on CPU 0 and wrk on
# CPU 1 with one thread (`taskset`), so a front's latency tail is its own, not wrk's threads
# preempting it. Each front then has one core (Tokio sizes its workers from the affinity mask).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-8}
CONN=${CONN:-50}
RATES=${RATES-10000 25000}
OUT=${OUT:-$(mktemp -d /tmp/anp-proxy-bench.XXXXXX)}
srv=(); gen=(); wrk_threads=2
if [[ "${PIN:-}" == 1 ]]; then
  srv=(taskset -c 0); gen=(taskset -c 1); wrk_threads=1
fi
for tool in cargo jq wrk nginx varnishd redis-server curl taskset; do
  command -v "$tool" >/dev/null || { echo "$0: $tool is not installed" >&2; exit 2; }
done
if [[ -n "$RATES" ]] && ! command -v oha >/dev/null; then
  echo "$0: oha is not installed (cargo install oha --locked), or run with RATES=" >&2; exit 2
fi

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_http() { # URL
  for _ in $(seq 1 200); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "$0: $1 did not answer" >&2
  return 1
}

echo "== building anp (release) …" >&2
(cd "$root" && cargo build --release -q -p anp)
target_dir=$(cd "$root" && cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
anp="$target_dir/release/anp"

work="$OUT/work"
mkdir -p "$work/www" "$work/nginx-cache" "$work/varnish"
head -c 2048 /dev/urandom | base64 -w 100 | head -c 2048 > "$work/www/page.html"
head -c 102400 /dev/urandom > "$work/www/asset.bin"

up=$(free_port); ngx=$(free_port); vport=$(free_port); anp_l1=$(free_port); anp_rd=$(free_port)
redis_port=$(free_port)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [[ -f "$work/nginx.pid" ]] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT

cat > "$work/nginx.conf" <<EOF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  proxy_cache_path $work/nginx-cache keys_zone=c:10m max_size=100m;
  server {
    listen 127.0.0.1:$up;
    root $work/www;
    access_log $work/upstream-access.log;
  }
  server {
    listen 127.0.0.1:$ngx;
    location / {
      proxy_pass http://127.0.0.1:$up;
      proxy_cache c;
      proxy_cache_valid 200 1h;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      add_header X-Cache \$upstream_cache_status;
    }
  }
}
EOF
"${srv[@]}" nginx -c "$work/nginx.conf" -p "$work"
wait_http "http://127.0.0.1:$up/page.html"

# The same rules file as `anp bench --proxy`.
cp "$root/crates/anp/src/cli/bench/proxy-cache.toml" "$work/cache.toml"
"$anp" cache rules check --rules "$work/cache.toml" >&2

"$anp" cache rules export --rules "$work/cache.toml" --format varnish --backend "127.0.0.1:$up" \
  > "$work/bench.vcl"
"${srv[@]}" varnishd -F -j none -a "127.0.0.1:$vport" -f "$work/bench.vcl" -n "$work/varnish" \
  -s malloc,256m > "$work/varnishd.log" 2>&1 &
pids+=($!)

"${srv[@]}" redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
  > "$work/redis.log" 2>&1 &
pids+=($!)

"${srv[@]}" "$anp" --store "sqlite://$work/l1.db" proxy --upstream "http://127.0.0.1:$up" \
  --bind "127.0.0.1:$anp_l1" --rules "$work/cache.toml" > "$work/anp-l1.log" 2>&1 &
pids+=($!)
sleep 0.5
"${srv[@]}" "$anp" --store "redis://127.0.0.1:$redis_port" proxy --l1-bytes 0 \
  --upstream "http://127.0.0.1:$up" --bind "127.0.0.1:$anp_rd" --rules "$work/cache.toml" \
  > "$work/anp-redis.log" 2>&1 &
pids+=($!)

declare -A front=(
  [anp-l1]="http://127.0.0.1:$anp_l1"
  [anp-redis]="http://127.0.0.1:$anp_rd"
  [varnish]="http://127.0.0.1:$vport"
  [nginx]="http://127.0.0.1:$ngx"
)
for f in "${!front[@]}"; do
  wait_http "${front[$f]}/page.html"
  for p in page.html asset.bin; do
    curl -fsS -o /dev/null "${front[$f]}/$p"
    curl -fsS -o /dev/null "${front[$f]}/$p"
  done
  echo "$f X-Cache after warm-up: $(curl -fsS -o /dev/null -D - "${front[$f]}/page.html" | tr -d '\r' | grep -i '^x-cache' || echo none)" >&2
done

# wrk's text to one JSON line.
measure() { # NAME PATH URL [wrk args…]
  local name=$1 path=$2 url=$3; shift 3
  local out
  out=$("${gen[@]}" wrk -t"$wrk_threads" -c"$CONN" -d"${SECS}s" --latency "$@" "$url")
  echo "$out" > "$work/wrk-$name-$path-$round.txt"
  echo "$out" | awk -v name="$name" -v path="$path" -v round="$round" '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) }
    /^Requests\/sec:/ { rps = $2 }
    /Non-2xx/ { bad = $NF }
    END { printf "{\"front\":\"%s\",\"path\":\"%s\",\"round\":%d,\"rps\":%s,\"p50_ms\":%s,\"p99_ms\":%s,\"non_2xx\":%d}\n", name, path, round, rps, p50, p99, bad+0 }' \
    | tee -a "$OUT/raw.jsonl"
}

# oha's JSON at a fixed rate to one JSON line.
measure_rate() { # NAME PATH URL RATE [oha args…]
  local name=$1 path=$2 url=$3 rate=$4; shift 4
  local f="$work/oha-$name-$path-$rate-$round.json"
  "${gen[@]}" oha -z "${SECS}s" -c "$CONN" -q "$rate" --latency-correction --no-tui \
    --output-format json "$@" "$url" > "$f"
  jq -c --arg name "$name" --arg path "$path" --argjson round "$round" --argjson rate "$rate" '
    {front: $name, path: $path, round: $round, rate: $rate,
     achieved: (.summary.requestsPerSec | round),
     p50_ms: (.latencyPercentiles.p50 * 100000 | round / 100),
     p99_ms: (.latencyPercentiles.p99 * 100000 | round / 100),
     non_2xx: ([.statusCodeDistribution | to_entries[] | select(.key | startswith("2") | not)
               | .value] | add // 0),
     errors: ([.errorDistribution | to_entries[] | select(.key != "aborted due to deadline")
              | .value] | add // 0)}' "$f" \
    | tee -a "$OUT/raw.jsonl"
}

names=(anp-l1 anp-redis varnish nginx)
for round in $(seq 1 "$ROUNDS"); do
  for i in "${!names[@]}"; do
    f=${names[$(( (i + round - 1) % ${#names[@]} ))]}
    measure "$f" page "${front[$f]}/page.html"
    measure "$f" asset "${front[$f]}/asset.bin"
  done
  measure upstream page "http://127.0.0.1:$up/page.html"
  measure anp-bypass page "http://127.0.0.1:$anp_l1/page.html" -H "Authorization: Bearer x"
  # One connection: what a request costs when nothing queues (the BYPASS goal is about this).
  measure upstream-c1 page "http://127.0.0.1:$up/page.html" -t1 -c1
  measure anp-bypass-c1 page "http://127.0.0.1:$anp_l1/page.html" -t1 -c1 -H "Authorization: Bearer x"
  measure anp-l1-c1 page "http://127.0.0.1:$anp_l1/page.html" -t1 -c1
  measure nginx-c1 page "http://127.0.0.1:$ngx/page.html" -t1 -c1
  measure varnish-c1 page "http://127.0.0.1:$vport/page.html" -t1 -c1
  for rate in $RATES; do
    for i in "${!names[@]}"; do
      f=${names[$(( (i + round - 1) % ${#names[@]} ))]}
      measure_rate "$f" page "${front[$f]}/page.html" "$rate"
    done
    measure_rate upstream page "http://127.0.0.1:$up/page.html" "$rate"
    measure_rate anp-bypass page "http://127.0.0.1:$anp_l1/page.html" "$rate" \
      -H "Authorization: Bearer x"
  done
done

# 100 concurrent cold requests through anp proxy: how many reach the upstream?
cold="/page.html?cold=$RANDOM"
before=$(grep -c "GET $cold" "$work/upstream-access.log" || true)
seq 1 100 | xargs -P 100 -I{} curl -fsS -o /dev/null "http://127.0.0.1:$anp_l1$cold"
sleep 0.5
after=$(grep -c "GET $cold" "$work/upstream-access.log" || true)
echo "{\"front\":\"anp-l1\",\"cold_concurrent\":100,\"upstream_requests\":$((after - before))}" \
  | tee -a "$OUT/raw.jsonl"

rss() { ps -o rss= -p "$1" 2>/dev/null | tr -d ' '; }
echo "{\"rss_kib\":{\"anp-l1\":$(rss "${pids[2]}"),\"anp-redis\":$(rss "${pids[3]}")}}" \
  | tee -a "$OUT/raw.jsonl"

jq -s -r '
  def med: sort | if length == 0 then null elif length % 2 == 1 then .[length/2|floor]
           else (.[length/2 - 1] + .[length/2]) / 2 end;
  def r: . * 100 | round / 100;
  [.[] | select(.rps)] as $m
  | def m(f; p; k): [$m[] | select(.front == f and .path == p) | .[k]] | med;
  ( ["anp-l1", "anp-redis", "varnish", "nginx"] | map(. as $f |
      "\($f)\tpage \(m($f; "page"; "rps") | round) req/s p50 \(m($f; "page"; "p50_ms")) ms p99 \(m($f; "page"; "p99_ms")) ms\tasset \(m($f; "asset"; "rps") | round) req/s p99 \(m($f; "asset"; "p99_ms")) ms") | .[] ),
  "ratios of medians (anp-l1 / peer): page vs nginx \(m("anp-l1"; "page"; "rps") / m("nginx"; "page"; "rps") | r), vs varnish \(m("anp-l1"; "page"; "rps") / m("varnish"; "page"; "rps") | r); asset vs nginx \(m("anp-l1"; "asset"; "rps") / m("nginx"; "asset"; "rps") | r), vs varnish \(m("anp-l1"; "asset"; "rps") / m("varnish"; "asset"; "rps") | r)",
  "bypass at \($ENV.CONN // "50") connections: upstream direct p50 \(m("upstream"; "page"; "p50_ms")) ms, through anp proxy p50 \(m("anp-bypass"; "page"; "p50_ms")) ms (+\(m("anp-bypass"; "page"; "p50_ms") - m("upstream"; "page"; "p50_ms") | r) ms)",
  "one connection, p50 / p99: upstream \(m("upstream-c1"; "page"; "p50_ms")) / \(m("upstream-c1"; "page"; "p99_ms")) ms, anp BYPASS \(m("anp-bypass-c1"; "page"; "p50_ms")) / \(m("anp-bypass-c1"; "page"; "p99_ms")) ms (+\(m("anp-bypass-c1"; "page"; "p50_ms") - m("upstream-c1"; "page"; "p50_ms") | r) ms p50), anp HIT \(m("anp-l1-c1"; "page"; "p50_ms")) / \(m("anp-l1-c1"; "page"; "p99_ms")) ms, nginx HIT \(m("nginx-c1"; "page"; "p50_ms")) / \(m("nginx-c1"; "page"; "p99_ms")) ms, varnish HIT \(m("varnish-c1"; "page"; "p50_ms")) / \(m("varnish-c1"; "page"; "p99_ms")) ms",
  ([.[] | select(.rate)] as $o
   | def o(f; r; k): [$o[] | select(.front == f and .rate == r) | .[k]] | med;
   ($o | map(.rate) | unique | .[]) as $r
   | "at \($r) req/s offered, \($ENV.CONN // "50") connections (oha, latency from when each request was due), p50 / p99 ms (achieved req/s): " +
     ([ "anp-l1", "anp-redis", "varnish", "nginx", "upstream", "anp-bypass" ]
      | map(. as $f | "\($f) \(o($f; $r; "p50_ms")) / \(o($f; $r; "p99_ms")) (\(o($f; $r; "achieved")))") | join(", ")) +
     "; BYPASS adds \(o("anp-bypass"; $r; "p50_ms") - o("upstream"; $r; "p50_ms") | r) ms p50"),
  (.[] | select(.cold_concurrent) | "coalescing: \(.cold_concurrent) concurrent cold requests -> \(.upstream_requests) upstream request(s)"),
  (.[] | select(.rss_kib) | "RSS after the run: anp-l1 \(.rss_kib["anp-l1"]) KiB, anp-redis \(.rss_kib["anp-redis"]) KiB")
' "$OUT/raw.jsonl"
echo "raw output: $OUT" >&2
