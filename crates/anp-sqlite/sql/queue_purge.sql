-- queue_purge: deletes up to ?3 jobs of queue ?1 in state ?2 (never running: the caller never
-- asks for it, and the condition repeats it), found through jobs_queue_state. Deleting the row
-- is all job_delete does too: the unique key goes with it (jobs_unique_live holds only rows).
DELETE FROM jobs
WHERE rowid IN (
    SELECT rowid FROM jobs
    WHERE queue = ?1 AND state = ?2 AND state <> 'running'
    LIMIT ?3
)
