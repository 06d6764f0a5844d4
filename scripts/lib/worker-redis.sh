# Shared by scripts/worker-callgrind and scripts/worker-cpu (sourced, not run): a private
# redis-server on a free port with its data in a temp dir, JOBS no-op jobs of kind `noop` on
# queue `q` enqueued with `anp bulk`, an anp.toml serving them at CONCURRENCY, and
# `wait_drained`. Touches no other Redis.
#
# The sourcing script sets: `me` (its name, for messages), `anp`, `jobs`, `concurrency`,
# `unique_by` (for `anp bulk --unique-by`), and `keep` (non-empty: leave the temp dir). It
# gets: `tmp`, `port`, `worker` (set it to the worker's pid: the exit trap kills it), and
# the trap that stops the server.

tmp=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
worker=
cleanup() {
  if [[ -n "$worker" ]]; then
    kill -KILL "$worker" 2>/dev/null || true
    wait "$worker" 2>/dev/null || true
  fi
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  if [[ -z "$keep" ]]; then
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT

redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" \
  --daemonize yes --logfile "$tmp/redis.log" >/dev/null
for _ in $(seq 50); do
  redis-cli -p "$port" ping >/dev/null 2>&1 && break
  sleep 0.1
done

python3 -c "
import json, sys
with open(sys.argv[1], 'w') as f:
    for i in range($jobs):
        f.write(json.dumps({'kind': 'noop', 'queue': 'q', 'args': {'i': i}}) + '\n')
" "$tmp/jobs.jsonl"
printf '[[queue]]\nname = "q"\nconcurrency = %s\n\n[[job]]\nkind = "noop"\nbuiltin = "noop"\n' \
  "$concurrency" >"$tmp/anp.toml"
if ! "$anp" --store "redis://127.0.0.1:$port" bulk --unique-by "$unique_by" "$tmp/jobs.jsonl" \
  >/dev/null 2>"$tmp/bulk.log"; then
  echo "$me: anp bulk failed:" >&2
  cat "$tmp/bulk.log" >&2
  exit 1
fi
redis-cli -p "$port" config resetstat >/dev/null

# Waits (polling every $1 s) until the worker `$worker` has completed every job; exits with its
# log if it stops first.
wait_drained() {
  while [[ "$(redis-cli -p "$port" get 'anp:{q}:done_count')" != "$jobs" ]]; do
    if ! kill -0 "$worker" 2>/dev/null; then
      echo "$me: anp work stopped before the queue drained: see $tmp/work.log" >&2
      cat "$tmp/work.log" >&2
      exit 1
    fi
    sleep "$1"
  done
}
