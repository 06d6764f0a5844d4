-- job_list, one state indexed by jobs_state_id (?1: scheduled, retryable, dead or cancelled;
-- the caller merges several states): newest first below the cursor ?2. The OR term repeats the
-- index's condition so SQLite may use it.
SELECT id, kind, queue,
       (SELECT args FROM job_args WHERE job = jobs.seq) AS args,
       state, priority, attempt, max_attempts, run_at, created_at, attempted_at,
       finalized_at, unique_key, lease_owner, lease_expires_at, lease_token,
       coalesce((SELECT errors FROM job_errors WHERE job = jobs.seq), '[]') AS errors
FROM jobs
WHERE state = ?1 AND (state = 'scheduled' OR state = 'retryable' OR state = 'dead' OR state = 'cancelled')
  AND id < ?2 AND (?3 IS NULL OR queue = ?3) AND (?4 IS NULL OR kind = ?4)
ORDER BY id DESC
LIMIT ?5
