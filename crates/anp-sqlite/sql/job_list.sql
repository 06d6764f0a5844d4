-- job_list, no state or a dense one (?5: NULL, 'available' or 'completed'): newest first below
-- the cursor ?1, walking the primary key backwards.
SELECT id, kind, queue,
       (SELECT args FROM job_args WHERE job = jobs.seq) AS args,
       state, priority, attempt, max_attempts, run_at, created_at, attempted_at,
       finalized_at, unique_key, lease_owner, lease_expires_at, lease_token,
       coalesce((SELECT errors FROM job_errors WHERE job = jobs.seq), '[]') AS errors
FROM jobs
WHERE id < ?1 AND (?2 IS NULL OR queue = ?2) AND (?3 IS NULL OR kind = ?3)
  AND (?5 IS NULL OR state = ?5)
ORDER BY id DESC
LIMIT ?4
