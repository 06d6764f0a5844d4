-- Migration 0003: what operators ask the store. Documented in docs/sqlite-schema.md.

-- Live worker and scheduler processes; a row whose last_seen is stale is deleted on listing.
CREATE TABLE processes (
    id         TEXT    NOT NULL PRIMARY KEY,
    role       TEXT    NOT NULL,
    host       TEXT    NOT NULL,
    pid        INTEGER NOT NULL,
    version    TEXT    NOT NULL,
    queues     TEXT    NOT NULL, -- JSON array of queue names
    started_at INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL
) WITHOUT ROWID;

-- Per-minute counters and latency histograms per (queue, kind), kept 7 days by default.
-- `run` and `wait` are JSON anp_core::monitor::Histogram values ({"counts": [...], "sum_us": n}).
CREATE TABLE stats (
    minute    INTEGER NOT NULL, -- start of the minute, microseconds since the Unix epoch
    queue     TEXT    NOT NULL,
    kind      TEXT    NOT NULL,
    enqueued  INTEGER NOT NULL DEFAULT 0,
    completed INTEGER NOT NULL DEFAULT 0,
    failed    INTEGER NOT NULL DEFAULT 0,
    dead      INTEGER NOT NULL DEFAULT 0,
    run       TEXT    NOT NULL DEFAULT '{"counts":[],"sum_us":0}',
    wait      TEXT    NOT NULL DEFAULT '{"counts":[],"sum_us":0}',
    PRIMARY KEY (minute, queue, kind)
) WITHOUT ROWID;

-- Deploy markers, newest last.
CREATE TABLE deploys (
    id       INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    at       INTEGER NOT NULL,
    version  TEXT    NOT NULL,
    owner    TEXT,
    rollback TEXT,
    note     TEXT
);
