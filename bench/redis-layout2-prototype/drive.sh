#!/bin/bash
# drive.sh JOBS BATCH: layout 2 prototype fetch+ack under callgrind (only EVALSHA counted; populate uses EVAL)
set -e
cd "$(dirname "$0")"
jobs=${1:-20000}; B=${2:-25}
tmp=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
valgrind --tool=callgrind --toggle-collect=evalShaCommand --collect-atstart=no --callgrind-out-file="$tmp/cg.out" redis-server --port $port --bind 127.0.0.1 --save '' --appendonly no --dir $tmp >$tmp/vg.log 2>&1 &
pid=$!
for _ in $(seq 100); do redis-cli -p $port ping >/dev/null 2>&1 && break; sleep 0.2; done
now=$(date +%s)000000
R="redis-cli -p $port"
$R eval "$(cat populate.lua)" 2 'anp:{q}:jobs' 'anp:{q}:available' $jobs $now >/dev/null
F=$($R script load "$(cat fetch.lua)"); A=$($R script load "$(cat ack.lua)")
rec="completed 0 1 25 $now $now $now $now - - noop"
calls=0
while :; do
  mapfile -t r < <($R --raw evalsha $F 5 'anp:{q}:jobs' 'anp:{q}:available' 'anp:{q}:leases' 'anp:{q}:paused' 'anp:{q}:lease_seq' $now $((now + 30000000)) $B host-1:4242)
  calls=$((calls + 1))
  m=$(( ${#r[@]} / 4 ))
  [ $m -eq 0 ] && break
  args=()
  for ((i = 0; i < m; i++)); do args+=("${r[4*i]}" "${r[4*i+3]}" complete "$rec"); done
  $R evalsha $A 5 'anp:{q}:jobs' 'anp:{q}:leases' 'anp:{q}:done' 'anp:{q}:stats' 'anp:{q}:stat_minutes' $now $now $m "${args[@]}" >/dev/null
  calls=$((calls + 1))
done
echo "done list: $($R llen 'anp:{q}:done'), leases left: $($R hlen 'anp:{q}:leases')"
$R shutdown nosave >/dev/null 2>&1 || true
wait $pid || true
t=$(cat $tmp/cg.out* | awk '/^summary:/ { s += $2 } END { print s + 0 }')
echo "v2 proto fetch+ack: $((t / jobs)) per job ($calls calls, batch $B)"
rm -rf $tmp
