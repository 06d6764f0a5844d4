-- job_prune: deletes up to ?5 dead jobs of queue ?1 at or before (?2, ?3, ?4) in
-- (finalized_at, state, rowid) order, oldest first (jobs_dead: state is always 'dead').
DELETE FROM jobs
WHERE rowid IN (
    SELECT rowid FROM jobs
    WHERE queue = ?1 AND state = 'dead'
      AND finalized_at <= ?2 AND (finalized_at, state, rowid) <= (?2, ?3, ?4)
    ORDER BY finalized_at, rowid
    LIMIT ?5
)
