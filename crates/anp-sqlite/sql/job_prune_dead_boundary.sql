-- job_prune: the newest dead job of queue ?1 beyond the ?2 newest kept, as its place in
-- (finalized_at, state, rowid) order; state is always 'dead', so jobs_dead order (finalized_at,
-- rowid) is the same.
SELECT finalized_at, state, rowid FROM jobs
WHERE queue = ?1 AND state = 'dead'
ORDER BY finalized_at DESC, rowid DESC
LIMIT 1 OFFSET ?2
