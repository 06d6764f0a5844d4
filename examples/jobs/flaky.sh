#!/bin/sh
# Fails the first attempt (exit 1: a retry-safe failure, retried with backoff), then succeeds.
cat >/dev/null
if [ "$ANP_ATTEMPT" = "1" ]; then
  echo "upstream timed out (simulated)" >&2
  exit 1
fi
echo "succeeded on attempt $ANP_ATTEMPT"
