#!/bin/sh
# The alphanode quickstart: build `anp`, enqueue example jobs into a fresh SQLite file, run a
# worker until the queues are drained, then show what happened.
set -eu
cd "$(dirname "$0")/.."
cargo build --release -q -p anp
ANP=target/release/anp
DB="${ANP_QUICKSTART_DB:-$(mktemp -d)/anp.db}"
export ANP_STORE="sqlite://$DB"
echo "== store: $ANP_STORE"
echo "== enqueue one job, then the rest from examples/jobs.jsonl"
$ANP enqueue greet '{"name": "quickstart"}'
$ANP bulk examples/jobs.jsonl
$ANP queues
echo "== run a worker until the queues are drained (examples/anp.toml)"
ANP_LOG=info $ANP work --config examples/anp.toml --exit-when-drained
echo "== result"
$ANP queues
$ANP jobs list --limit 20
