-- job_list, running jobs: few (at most every worker's concurrency), so read them from jobs_lease
-- and sort; newest first below the cursor ?1.
SELECT id, kind, queue,
       (SELECT args FROM job_args WHERE job = jobs.seq) AS args,
       state, priority, attempt, max_attempts, run_at, created_at, attempted_at,
       finalized_at, unique_key, lease_owner, lease_expires_at, lease_token,
       coalesce((SELECT errors FROM job_errors WHERE job = jobs.seq), '[]') AS errors
FROM jobs INDEXED BY jobs_lease
WHERE state = 'running' AND id < ?1 AND (?2 IS NULL OR queue = ?2) AND (?3 IS NULL OR kind = ?3)
ORDER BY id DESC
LIMIT ?4
