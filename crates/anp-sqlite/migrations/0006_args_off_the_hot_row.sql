-- Migration 0006: the args JSON and the error history move off the `jobs` row into side tables,
-- so the UPDATEs of a job's life (fetch, heartbeat, ack, rescue, promote) rewrite a row of a few
-- dozen bytes instead of one carrying the payload (a 10 KiB payload spans overflow pages, every
-- one of which was rewritten at each state change). Documented in docs/sqlite-schema.md.
--
-- `jobs` is rebuilt (SQLite cannot drop a column that way and keep the row small in place): it
-- gains `seq INTEGER PRIMARY KEY`, an alias of the rowid that keeps each job's rowid (so pruning
-- order is unchanged) and, unlike an implicit rowid, survives VACUUM, which is what lets the side
-- tables be keyed by it. `id` stays unique (the index that was the primary key's). Every index is
-- recreated with its name and definition; see 0001 for what each one is for. Runs in one
-- transaction with its row in anp_schema: a failure leaves the schema-5 file as it was.

CREATE TABLE jobs_v6 (
    seq              INTEGER NOT NULL PRIMARY KEY, -- the rowid; the key of job_args and job_errors
    id               TEXT    NOT NULL UNIQUE,      -- UUIDv7, hyphenated lower case: sorts by creation
    kind             TEXT    NOT NULL,
    queue            TEXT    NOT NULL,
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
    CHECK ((finalized_at IS NOT NULL) = (state = 'completed' OR state = 'dead' OR state = 'cancelled')),
    CHECK ((lease_token IS NOT NULL) = (state = 'running'))
);

-- The args of each job, written once at enqueue (or import) and only read afterwards.
CREATE TABLE job_args (
    job  INTEGER NOT NULL PRIMARY KEY, -- jobs.seq
    args TEXT    NOT NULL              -- JSON text exactly as enqueued
);

-- The error history of each job that has one (no row: an empty history). Written only when a
-- failure, rescue or cancellation appends an entry.
CREATE TABLE job_errors (
    job    INTEGER NOT NULL PRIMARY KEY, -- jobs.seq
    errors TEXT    NOT NULL              -- JSON array of {attempt, at, message, retry_safe}
);

INSERT INTO jobs_v6 (seq, id, kind, queue, state, priority, attempt, max_attempts, run_at,
                     created_at, attempted_at, finalized_at, unique_key, lease_owner,
                     lease_expires_at, lease_token)
SELECT rowid, id, kind, queue, state, priority, attempt, max_attempts, run_at,
       created_at, attempted_at, finalized_at, unique_key, lease_owner,
       lease_expires_at, lease_token
FROM jobs ORDER BY rowid;

INSERT INTO job_args (job, args) SELECT rowid, args FROM jobs ORDER BY rowid;

INSERT INTO job_errors (job, errors)
SELECT rowid, errors FROM jobs WHERE errors <> '[]' ORDER BY rowid;

DROP TABLE jobs; -- and its indexes
ALTER TABLE jobs_v6 RENAME TO jobs;

CREATE INDEX jobs_fetch ON jobs (queue, priority, run_at, id) WHERE state = 'available';
CREATE INDEX jobs_due ON jobs (run_at) WHERE state IN ('scheduled', 'retryable');
CREATE INDEX jobs_lease ON jobs (lease_expires_at) WHERE state = 'running';
CREATE INDEX jobs_queue_state ON jobs (queue, state);
CREATE INDEX jobs_state_id ON jobs (state, id)
    WHERE state = 'scheduled' OR state = 'retryable' OR state = 'dead' OR state = 'cancelled';
CREATE INDEX jobs_finished ON jobs (queue, finalized_at, state) WHERE state IN ('completed', 'cancelled');
CREATE INDEX jobs_dead ON jobs (queue, finalized_at) WHERE state = 'dead';
CREATE UNIQUE INDEX jobs_unique_live ON jobs (queue, unique_key)
    WHERE unique_key IS NOT NULL AND finalized_at IS NULL;
CREATE INDEX jobs_unique_recent ON jobs (queue, unique_key, created_at) WHERE unique_key IS NOT NULL;

-- Deleting a job (job_delete, job_prune, queue_purge, or by hand) deletes its side rows in the
-- same statement. A trigger rather than a foreign key: it does not depend on the connection's
-- foreign_keys setting, and costs nothing on the UPDATEs.
CREATE TRIGGER jobs_delete_side_rows AFTER DELETE ON jobs
BEGIN
    DELETE FROM job_args WHERE job = old.seq;
    DELETE FROM job_errors WHERE job = old.seq;
END;
