-- Migration 0005: the job kinds each live worker has handlers for. Documented in
-- docs/sqlite-schema.md.

-- JSON array of kind names; empty for schedulers, and for rows written before this migration
-- (such a process re-registers with its kinds at its next heartbeat if it knows them).
ALTER TABLE processes ADD COLUMN kinds TEXT NOT NULL DEFAULT '[]';
