-- Migration 0002: scheduled tasks and their fire log. Documented in docs/sqlite-schema.md.

-- One row per schedule. `def` is the definition as JSON (anp_core::schedule::ScheduleDef);
-- `last_tick` is the latest tick decided (fired or skipped): a tick is claimed only if it is
-- later, which is what makes each tick fire once however many schedulers run.
CREATE TABLE schedules (
    name       TEXT    NOT NULL PRIMARY KEY,
    def        TEXT    NOT NULL,
    paused     INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    last_tick  INTEGER,          -- microseconds since the Unix epoch
    last_job   TEXT,             -- the job of the latest fired tick
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Every decision: enqueued, skipped (with a reason) or triggered by hand. Bounded per schedule
-- (the claim trims it in the same transaction).
CREATE TABLE schedule_fires (
    id         INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    schedule   TEXT    NOT NULL,
    tick       INTEGER NOT NULL,
    decided_at INTEGER NOT NULL,
    decision   TEXT    NOT NULL CHECK (decision IN ('enqueued', 'skipped', 'triggered')),
    job_id     TEXT,
    reason     TEXT,
    scheduler  TEXT    NOT NULL
);
CREATE INDEX schedule_fires_by_schedule ON schedule_fires (schedule, id);
