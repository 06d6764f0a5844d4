-- job_prune: the newest completed/cancelled job of queue ?1 beyond the ?2 newest kept, as its place in
-- jobs_finished order (finalized_at, state, rowid).
SELECT finalized_at, state, rowid FROM jobs
WHERE queue = ?1 AND state IN ('completed', 'cancelled')
ORDER BY finalized_at DESC, state DESC, rowid DESC
LIMIT 1 OFFSET ?2
