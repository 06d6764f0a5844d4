-- job_enqueue_many: the newest job with a unique key created at or after $3 (unique period).
SELECT id, state FROM jobs
WHERE queue = $1 AND unique_key = $2 AND created_at >= $3
ORDER BY created_at DESC
LIMIT 1
