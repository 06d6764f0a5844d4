-- job_retry: any job but a running one becomes available now ($2), with one more attempt if it
-- used all of them.
UPDATE jobs
SET state = 'available', run_at = $2, finalized_at = NULL,
    lease_owner = NULL, lease_expires_at = NULL, lease_token = NULL,
    max_attempts = greatest(max_attempts, attempt + 1)
WHERE id = $1 AND state <> 'running'
RETURNING id, kind, queue, args, state, priority, attempt, max_attempts, run_at, created_at, attempted_at,
       finalized_at, unique_key, lease_owner, lease_expires_at, lease_token, coalesce(errors::text, '[]')
