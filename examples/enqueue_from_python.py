#!/usr/bin/env python3
"""Enqueue alphanode jobs from a Python app over `anp serve`'s HTTP API.

Standard library only (urllib.request). Start the server first, with a token:

    export ANP_TOKEN="$(openssl rand -hex 16)"
    anp serve                                   # 127.0.0.1:7070, sqlite://anp.db
    python3 examples/enqueue_from_python.py     # same ANP_TOKEN in the environment

The same calls work from PHP (curl_*), Node (fetch) or anything that speaks HTTP:
`POST /api/jobs` takes the options of `anp enqueue` as JSON fields, `POST /api/jobs/bulk`
up to 1,000 of them in one atomic batch. Every error is `{"error": {"op", "kind", "message",
"retry_safe"}}` with a 4xx/5xx status; retry only when `retry_safe` is true.
"""

import json
import os
import sys
import urllib.error
import urllib.request

BASE = os.environ.get("ANP_URL", "http://127.0.0.1:7070")
TOKEN = os.environ.get("ANP_TOKEN", "")


class AnpError(Exception):
    """An error answered by anp serve, in its error form."""

    def __init__(self, status, error):
        super().__init__(f"{status} {error.get('op')}: {error.get('message')}")
        self.status = status
        self.kind = error.get("kind")
        self.retry_safe = bool(error.get("retry_safe"))


def post(path, body):
    """POSTs `body` as JSON with the bearer token; returns (status, answer)."""
    req = urllib.request.Request(
        BASE + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": "Bearer " + TOKEN,
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        raise AnpError(e.code, json.load(e).get("error", {})) from None


def enqueue(kind, args=None, **options):
    """Enqueues one job. Options as `anp enqueue`: queue, priority (0-9), max_attempts,
    unique (key), unique_for ("1h"), run_at (RFC 3339) or in ("10m"). Returns
    {"id", "duplicate", "state"}: a duplicate names the unfinished job with the same unique key."""
    _, answer = post("/api/jobs", {"kind": kind, "args": args or {}, **options})
    return answer


def enqueue_many(jobs):
    """Enqueues up to 1,000 jobs in one atomic batch; results in input order."""
    _, answer = post("/api/jobs/bulk", {"jobs": jobs})
    return answer


def main():
    if not TOKEN:
        sys.exit("set ANP_TOKEN to the token anp serve was started with")
    job = enqueue("email.send", {"to": "ada@example.com"}, queue="mail")
    print("enqueued", job["id"], job["state"])

    first = enqueue("invoice.send", {"id": 42}, unique="invoice:42")
    again = enqueue("invoice.send", {"id": 42}, unique="invoice:42")
    print("unique:", first["id"], "then", again["id"], "duplicate =", again["duplicate"])

    batch = enqueue_many([{"kind": "report.build", "args": {"day": d}, "in": "5m"} for d in (1, 2, 3)])
    print("bulk:", batch["enqueued"], "enqueued,", batch["duplicates"], "duplicates")

    try:
        enqueue("email.send", queue="Bad Queue!")
    except AnpError as e:
        print("refused:", e, "(retry safe)" if e.retry_safe else "(not retried)")


if __name__ == "__main__":
    main()
