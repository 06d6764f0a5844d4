-- job_export: one page of every job by id, after $1.
SELECT id, kind, queue, args, state, priority, attempt, max_attempts, run_at, created_at, attempted_at,
       finalized_at, unique_key, lease_owner, lease_expires_at, lease_token, coalesce(errors::text, '[]')
FROM jobs WHERE id > $1 ORDER BY id LIMIT $2
