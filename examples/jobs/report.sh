#!/bin/sh
# Writes a small report file: a stand-in for a nightly report job.
cat >/dev/null
mkdir -p "${ANP_REPORT_DIR:-/tmp/anp-reports}"
out="${ANP_REPORT_DIR:-/tmp/anp-reports}/report-$ANP_JOB_ID.txt"
date -u +"report generated at %Y-%m-%dT%H:%M:%SZ" > "$out"
echo "wrote $out"
