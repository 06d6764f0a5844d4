-- job_prune: deletes up to ?5 completed/cancelled jobs of queue ?1 at or before (?2, ?3, ?4) in
-- jobs_finished order (finalized_at, state, rowid), oldest first.
DELETE FROM jobs
WHERE rowid IN (
    SELECT rowid FROM jobs
    WHERE queue = ?1 AND state IN ('completed', 'cancelled')
      AND finalized_at <= ?2 AND (finalized_at, state, rowid) <= (?2, ?3, ?4)
    ORDER BY finalized_at, state, rowid
    LIMIT ?5
)
