-- job_list: newest first, before id $1, optionally one queue ($2), kind ($3) and states ($5).
SELECT id, kind, queue, args, state, priority, attempt, max_attempts, run_at, created_at, attempted_at,
       finalized_at, unique_key, lease_owner, lease_expires_at, lease_token, coalesce(errors::text, '[]')
FROM jobs
WHERE id < $1 AND ($2::text IS NULL OR queue = $2) AND ($3::text IS NULL OR kind = $3)
  AND ($5::text[] IS NULL OR state = ANY($5))
ORDER BY id DESC
LIMIT $4
