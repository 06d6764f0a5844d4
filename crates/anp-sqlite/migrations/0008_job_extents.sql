-- 0008: job numbers (`jobs.seq`, the rowid) handed out in extents of 65,536 per queue, so a
-- queue's jobs sit next to each other in the table however the queues' enqueues interleave: a
-- fetch or an ack of a batch of one queue's jobs then changes a few neighbouring table pages
-- instead of about one page per job (src/seq.rs, docs/sqlite-schema.md "Job numbers"). A queue
-- takes its first extent on its first enqueue, and the next one when it has used it up, above
-- every number handed out so far. Jobs stored before this migration keep their numbers; nothing
-- is rewritten.
CREATE TABLE job_extents (
    queue TEXT    NOT NULL PRIMARY KEY,
    first INTEGER NOT NULL,
    last  INTEGER NOT NULL CHECK (last >= first)
) WITHOUT ROWID;
-- A new extent starts above max(last): indexed, so a store with many queues pays one b-tree step.
CREATE INDEX job_extents_last ON job_extents (last);
