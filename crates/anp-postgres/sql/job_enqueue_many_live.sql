-- job_enqueue_many: the live job holding a unique key (jobs_unique_live).
SELECT id, state FROM jobs
WHERE queue = $1 AND unique_key = $2 AND unique_key IS NOT NULL AND finalized_at IS NULL
