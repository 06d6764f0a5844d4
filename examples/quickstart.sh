#!/bin/sh
# The alphanode quickstart: build `anp`, enqueue example jobs into a fresh SQLite file, run a
# worker until the queues are drained, show what happened, then say how to put `anp` on the PATH.
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
ANP=target/release/anp
if [ -x "$ANP" ]; then
  echo "== build anp (cargo build --release -p anp): up to date already, or seconds for what changed"
else
  echo "== build anp (cargo build --release -p anp): the first build takes about 5 minutes on 2 cores"
  echo "   (cargo shows each crate as it compiles); later builds take seconds"
fi
cargo build --release -p anp
DB="${ANP_QUICKSTART_DB:-$(mktemp -d)/anp.db}"
export ANP_STORE="sqlite://$DB"
echo "== store: $ANP_STORE"
echo "== enqueue one job, then the rest from examples/jobs.jsonl"
$ANP enqueue greet '{"name": "quickstart"}'
$ANP bulk examples/jobs.jsonl
echo "== the same file again: the import is safe to re-run, nothing is enqueued twice"
$ANP bulk examples/jobs.jsonl
$ANP queues
echo "== run a worker until the queues are drained (examples/anp.toml)"
$ANP work --config examples/anp.toml --exit-when-drained
echo "== result"
$ANP queues
$ANP jobs list --limit 20
echo "== done. anp is at $ROOT/$ANP; to run it as plain \`anp\`, either install it"
echo "   into ~/.cargo/bin (on the PATH with rustup):"
echo "     cargo install --locked --path $ROOT/crates/anp    # reuses this build"
echo "   or add the build folder to the PATH of this shell (and your shell's profile):"
echo "     export PATH=\"$ROOT/target/release:\$PATH\""
