-- job_get: one job.
SELECT id, kind, queue, args, state, priority, attempt, max_attempts, run_at, created_at, attempted_at,
       finalized_at, unique_key, lease_owner, lease_expires_at, lease_token, coalesce(errors::text, '[]')
FROM jobs WHERE id = $1
