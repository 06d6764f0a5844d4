#!/bin/sh
# Reads the job's args ({"name": "..."}) from stdin and greets.
args=$(cat)
name=$(printf '%s' "$args" | sed -n 's/.*"name"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')
echo "hello, ${name:-world} (job $ANP_JOB_ID, attempt $ANP_ATTEMPT)"
