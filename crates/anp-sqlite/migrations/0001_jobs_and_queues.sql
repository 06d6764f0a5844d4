-- Migration 0001: the schema-version table, jobs and queue flags.
-- Applied in one transaction together with its row in anp_schema. Never edit a released
-- migration: add 0002_<what>.sql instead. Documented in docs/sqlite-schema.md.
--
-- Conditions are written `state = 'a' OR state = 'b' …`, never `state IN ('a', 'b', 'c')`: SQLite
-- builds a temporary b-tree for an IN list of more than two constants at every execution of every
-- statement that evaluates it (each CHECK and partial-index condition on every write), which
-- cost the hot path ~10 %. A query that should use a partial index repeats its condition verbatim.

-- One row per applied migration; max(version) is the schema version.
CREATE TABLE anp_schema (
    version    INTEGER NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at INTEGER NOT NULL -- microseconds since the Unix epoch (wall clock of the migrating process)
);

-- Every job, from enqueue until pruned. Times are INTEGER microseconds since the Unix epoch.
CREATE TABLE jobs (
    id               TEXT    NOT NULL PRIMARY KEY, -- UUIDv7, hyphenated lower case: sorts by creation
    kind             TEXT    NOT NULL,
    queue            TEXT    NOT NULL,
    args             TEXT    NOT NULL,             -- JSON text exactly as enqueued
    state            TEXT    NOT NULL CHECK (state = 'scheduled' OR state = 'available'
                                             OR state = 'running' OR state = 'completed'
                                             OR state = 'retryable' OR state = 'dead'
                                             OR state = 'cancelled'),
    priority         INTEGER NOT NULL CHECK (priority BETWEEN 0 AND 9),
    attempt          INTEGER NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    max_attempts     INTEGER NOT NULL CHECK (max_attempts >= 1),
    run_at           INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    attempted_at     INTEGER,
    finalized_at     INTEGER,
    unique_key       TEXT,
    lease_owner      TEXT,
    lease_expires_at INTEGER,
    lease_token      INTEGER,
    errors           TEXT    NOT NULL DEFAULT '[]', -- JSON array of {attempt, at, message, retry_safe}
    -- Final states and only they carry finalized_at, so `finalized_at IS NULL` means "live"
    -- (scheduled, available, running, retryable).
    CHECK ((finalized_at IS NOT NULL) = (state = 'completed' OR state = 'dead' OR state = 'cancelled')),
    -- A running job and only it holds a lease token (fencing relies on it).
    CHECK ((lease_token IS NOT NULL) = (state = 'running'))
);

-- job_fetch: the next available jobs of one queue in (priority, run_at, id) order, read straight
-- from the index. Partial: holds only available jobs, so it stays as small as the backlog.
CREATE INDEX jobs_fetch ON jobs (queue, priority, run_at, id) WHERE state = 'available';

-- job_promote_due: scheduled and retryable jobs by run_at.
CREATE INDEX jobs_due ON jobs (run_at) WHERE state IN ('scheduled', 'retryable');

-- job_rescue_expired: running jobs by lease expiry.
CREATE INDEX jobs_lease ON jobs (lease_expires_at) WHERE state = 'running';

-- queue_list: counts per (queue, state) from the index alone; the list of queues by skip-scan.
CREATE INDEX jobs_queue_state ON jobs (queue, state);

-- job_list and job_retry_dead: the jobs of one rarer state, newest (or oldest) first, without a
-- sort and without walking past millions of completed jobs. Partial: the states every job passes
-- through (available, running, completed) stay out of it, so the hot path pays nothing for it;
-- job_list finds those by the primary key (available and completed jobs are dense among the
-- newest ids) or by jobs_lease (running jobs are few).
CREATE INDEX jobs_state_id ON jobs (state, id)
    WHERE state = 'scheduled' OR state = 'retryable' OR state = 'dead' OR state = 'cancelled';

-- job_prune: finished (completed, cancelled) and dead jobs per queue, oldest first. In
-- jobs_finished `state` is a column so that walking it needs no table lookups (jobs_dead has one
-- state only).
CREATE INDEX jobs_finished ON jobs (queue, finalized_at, state) WHERE state IN ('completed', 'cancelled');
CREATE INDEX jobs_dead ON jobs (queue, finalized_at) WHERE state = 'dead';

-- Uniqueness: at most one live (not finished: finalized_at IS NULL) job per (queue, unique_key).
-- Enforced by SQLite even if a code path forgot to look first.
CREATE UNIQUE INDEX jobs_unique_live ON jobs (queue, unique_key)
    WHERE unique_key IS NOT NULL AND finalized_at IS NULL;

-- Unique periods: the newest job with a key, finished or not, created since a cutoff.
CREATE INDEX jobs_unique_recent ON jobs (queue, unique_key, created_at) WHERE unique_key IS NOT NULL;

-- Queue flags. A queue exists implicitly while it holds jobs; a row appears once it is paused or
-- resumed.
CREATE TABLE queues (
    name       TEXT    NOT NULL PRIMARY KEY,
    paused     INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
