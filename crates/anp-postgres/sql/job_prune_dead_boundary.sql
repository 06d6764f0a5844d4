-- job_prune: the newest dead job of queue $1 past the newest $2 (jobs_dead).
SELECT finalized_at, state, id FROM jobs
WHERE queue = $1 AND state = 'dead'
ORDER BY finalized_at DESC, id DESC
LIMIT 1 OFFSET $2
