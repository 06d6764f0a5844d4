-- Migration 0001: every table of schema 1 (jobs, queues, schedules, operations, cache).
-- Applied in one transaction together with its row in anp_schema. Never edit a released
-- migration: add 0002_<what>.sql instead. Documented in docs/postgres.md.
--
-- Times are BIGINT microseconds since the Unix epoch (cache: milliseconds), as on SQLite, so
-- rows convert 1:1 and callers' `now` is the only clock. Text compared for order (ids, queues,
-- cache keys) uses COLLATE "C": byte order, whatever the database's locale.

CREATE TABLE anp_schema (
    version    INTEGER NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at BIGINT  NOT NULL
);

-- Fencing tokens of job leases: every fetch takes fresh ones. job_import_many moves it past the
-- tokens of restored running jobs; CYCLE, so a restored token near the top (SQLite's tokens are
-- random) cannot exhaust it.
CREATE SEQUENCE anp_lease_tokens CYCLE;

CREATE TABLE jobs (
    id               TEXT COLLATE "C" NOT NULL PRIMARY KEY, -- UUIDv7, hyphenated lower case
    kind             TEXT    NOT NULL,
    queue            TEXT COLLATE "C" NOT NULL,
    args             TEXT    NOT NULL,             -- JSON text exactly as enqueued (TOASTed)
    state            TEXT COLLATE "C" NOT NULL CHECK (state IN ('scheduled', 'available', 'running',
                                             'completed', 'retryable', 'dead', 'cancelled')),
    priority         SMALLINT NOT NULL CHECK (priority BETWEEN 0 AND 9),
    attempt          INTEGER NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    max_attempts     INTEGER NOT NULL CHECK (max_attempts >= 1),
    run_at           BIGINT  NOT NULL,
    created_at       BIGINT  NOT NULL,
    attempted_at     BIGINT,
    finalized_at     BIGINT,
    unique_key       TEXT,
    lease_owner      TEXT,
    lease_expires_at BIGINT,
    lease_token      BIGINT,
    errors           JSONB,                        -- array of {attempt, at, message, retry_safe}; NULL: none
    CHECK ((finalized_at IS NOT NULL) = (state IN ('completed', 'dead', 'cancelled'))),
    CHECK ((lease_token IS NOT NULL) = (state = 'running'))
);

-- job_fetch: available jobs of one queue in fetch order (partial: as small as the backlog).
CREATE INDEX jobs_fetch ON jobs (queue, priority, run_at, id) WHERE state = 'available';
-- job_promote_due.
CREATE INDEX jobs_due ON jobs (run_at) WHERE state IN ('scheduled', 'retryable');
-- job_rescue_expired and listing running jobs.
CREATE INDEX jobs_lease ON jobs (lease_expires_at) WHERE state = 'running';
-- queue_list counts, queue_purge.
CREATE INDEX jobs_queue_state ON jobs (queue, state);
-- job_list / job_retry_dead of the rarer states, newest first.
CREATE INDEX jobs_state_id ON jobs (state, id)
    WHERE state IN ('scheduled', 'retryable', 'dead', 'cancelled');
-- job_prune: finished and dead jobs per queue, oldest first.
CREATE INDEX jobs_finished ON jobs (queue, finalized_at, state, id) WHERE state IN ('completed', 'cancelled');
CREATE INDEX jobs_dead ON jobs (queue, finalized_at, id) WHERE state = 'dead';
-- Unique jobs: at most one live job per (queue, unique_key), enforced by the partial index.
CREATE UNIQUE INDEX jobs_unique_live ON jobs (queue, unique_key)
    WHERE unique_key IS NOT NULL AND finalized_at IS NULL;
-- Unique periods: the newest job with a key created since a cutoff.
CREATE INDEX jobs_unique_recent ON jobs (queue, unique_key, created_at) WHERE unique_key IS NOT NULL;

CREATE TABLE queues (
    name       TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    paused     BOOLEAN NOT NULL DEFAULT false,
    updated_at BIGINT  NOT NULL
);

CREATE TABLE schedules (
    name       TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    def        TEXT    NOT NULL,
    paused     BOOLEAN NOT NULL DEFAULT false,
    last_tick  BIGINT,
    last_job   TEXT COLLATE "C",
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL
);

CREATE TABLE schedule_fires (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    schedule   TEXT    NOT NULL,
    tick       BIGINT  NOT NULL,
    decided_at BIGINT  NOT NULL,
    decision   TEXT    NOT NULL CHECK (decision IN ('enqueued', 'skipped', 'triggered')),
    job_id     TEXT COLLATE "C",
    reason     TEXT,
    scheduler  TEXT    NOT NULL
);
CREATE INDEX schedule_fires_by_schedule ON schedule_fires (schedule, id);

CREATE TABLE processes (
    id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    role       TEXT    NOT NULL,
    host       TEXT    NOT NULL,
    pid        BIGINT  NOT NULL,
    version    TEXT    NOT NULL,
    queues     TEXT    NOT NULL, -- JSON array of queue names
    kinds      TEXT    NOT NULL DEFAULT '[]',
    started_at BIGINT  NOT NULL,
    last_seen  BIGINT  NOT NULL
);

CREATE TABLE stats (
    minute    BIGINT NOT NULL,
    queue     TEXT COLLATE "C" NOT NULL,
    kind      TEXT COLLATE "C" NOT NULL,
    enqueued  BIGINT NOT NULL DEFAULT 0,
    completed BIGINT NOT NULL DEFAULT 0,
    failed    BIGINT NOT NULL DEFAULT 0,
    dead      BIGINT NOT NULL DEFAULT 0,
    run       TEXT   NOT NULL DEFAULT '{"counts":[],"sum_us":0}',
    wait      TEXT   NOT NULL DEFAULT '{"counts":[],"sum_us":0}',
    PRIMARY KEY (minute, queue, kind)
);

CREATE TABLE deploys (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at       BIGINT NOT NULL,
    version  TEXT   NOT NULL,
    owner    TEXT,
    rollback TEXT,
    note     TEXT
);

-- The audit log of operator actions (`anp serve`: JSON API and dashboard); the newest
-- AUDIT_KEEP (10,000) are kept, `audit_record` trims in the same transaction.
CREATE TABLE audit (
    id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at     BIGINT NOT NULL,
    who    TEXT   NOT NULL,
    action TEXT   NOT NULL,
    target TEXT   NOT NULL,
    result TEXT   NOT NULL
);

-- The application cache (docs/cache.md); times in milliseconds.
CREATE TABLE cache_entries (
    ns         TEXT COLLATE "C" NOT NULL,
    generation BIGINT NOT NULL,
    key        TEXT COLLATE "C" NOT NULL,
    value      BYTEA  NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (ns, generation, key)
);
CREATE INDEX cache_entries_expiry ON cache_entries (expires_at);

CREATE TABLE cache_leases (
    ns         TEXT COLLATE "C" NOT NULL,
    generation BIGINT NOT NULL,
    key        TEXT COLLATE "C" NOT NULL,
    token      BIGINT NOT NULL, -- u64 as its i64 bit pattern
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (ns, generation, key)
);
CREATE INDEX cache_leases_expiry ON cache_leases (expires_at);

CREATE TABLE cache_tags (
    ns         TEXT COLLATE "C" NOT NULL,
    tag        TEXT COLLATE "C" NOT NULL,
    version    BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (ns, tag)
);
CREATE INDEX cache_tags_expiry ON cache_tags (expires_at);

CREATE TABLE cache_namespaces (
    ns               TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    deploy_sensitive BOOLEAN NOT NULL,
    generation       BIGINT  NOT NULL,
    history          TEXT    NOT NULL, -- JSON array of earlier generations
    max_generation   BIGINT  NOT NULL
);

-- The invalidation feed. Publishers serialize on an advisory lock so seq order is commit
-- order (a watcher reading `seq > cursor` never skips a later-committing smaller seq).
CREATE TABLE cache_changes (
    seq    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at     BIGINT NOT NULL,
    origin TEXT   NOT NULL,
    change TEXT   NOT NULL
);

CREATE TABLE cache_stats (
    id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at     BIGINT NOT NULL,
    ns     TEXT COLLATE "C" NOT NULL,
    record TEXT   NOT NULL
);
CREATE INDEX cache_stats_at ON cache_stats (at);
