-- job_prune: the newest completed/cancelled job of queue $1 past the newest $2 (jobs_finished).
SELECT finalized_at, state, id FROM jobs
WHERE queue = $1 AND state IN ('completed', 'cancelled')
ORDER BY finalized_at DESC, state DESC, id DESC
LIMIT 1 OFFSET $2
