-- Migration 0004: the application cache (docs/cache.md). Documented in docs/sqlite-schema.md.
-- Times are milliseconds since the Unix epoch (the envelope's unit). A row whose expires_at is
-- not after the caller's `now` is invisible to every read; cache_prune deletes it.

-- One row per stored envelope. A rowid table: values can be large, and a WITHOUT ROWID table
-- keeps whole rows in its b-tree pages.
CREATE TABLE cache_entries (
    ns         TEXT    NOT NULL,
    generation INTEGER NOT NULL,
    key        TEXT    NOT NULL,
    value      BLOB    NOT NULL, -- the envelope bytes (JSON)
    expires_at INTEGER NOT NULL
);
-- Reads, writes and deletes of one key; prefix purges walk a range of it; usage counts one
-- (ns, generation).
CREATE UNIQUE INDEX cache_entries_key ON cache_entries (ns, generation, key);
-- cache_prune, oldest expiry first.
CREATE INDEX cache_entries_expiry ON cache_entries (expires_at);

-- Compute leases, one per key being computed; `token` fences the write that ends it.
CREATE TABLE cache_leases (
    ns         TEXT    NOT NULL,
    generation INTEGER NOT NULL,
    key        TEXT    NOT NULL,
    token      INTEGER NOT NULL, -- the holder's u64 token, stored as its i64 bit pattern
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (ns, generation, key)
) WITHOUT ROWID;
CREATE INDEX cache_leases_expiry ON cache_leases (expires_at);

-- The current version of each purged tag; a tag without a live row is version 0.
CREATE TABLE cache_tags (
    ns         TEXT    NOT NULL,
    tag        TEXT    NOT NULL,
    version    INTEGER NOT NULL, -- u64 stored as its i64 bit pattern
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (ns, tag)
) WITHOUT ROWID;
CREATE INDEX cache_tags_expiry ON cache_tags (expires_at);

-- Registered namespaces and their deploy generations.
CREATE TABLE cache_namespaces (
    ns               TEXT    NOT NULL PRIMARY KEY,
    deploy_sensitive INTEGER NOT NULL CHECK (deploy_sensitive IN (0, 1)),
    generation       INTEGER NOT NULL, -- the generation entries are read and written under
    history          TEXT    NOT NULL, -- JSON array of earlier generations, oldest first
    max_generation   INTEGER NOT NULL  -- the highest generation ever used: Next goes past it
) WITHOUT ROWID;

-- The invalidation feed: watchers poll `seq > cursor`. AUTOINCREMENT, so a seq is never reused
-- even after pruning empties the table (a watcher's cursor stays meaningful).
CREATE TABLE cache_changes (
    seq    INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    at     INTEGER NOT NULL, -- publish time, for pruning after 60 s
    origin TEXT    NOT NULL, -- the publishing process id
    change TEXT    NOT NULL  -- JSON anp_core::cache::Invalidation
);

-- Per-process flushes of cache counters, kept 7 days.
CREATE TABLE cache_stats (
    id     INTEGER NOT NULL PRIMARY KEY,
    at     INTEGER NOT NULL, -- end of the flushed interval
    ns     TEXT    NOT NULL,
    record TEXT    NOT NULL  -- JSON anp_core::cache::CacheStatsRecord
);
-- cache_stats_query by time range, oldest first; pruning after 7 days.
CREATE INDEX cache_stats_at ON cache_stats (at);
