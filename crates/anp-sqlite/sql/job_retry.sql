-- job_retry: any job but a running one → available at ?2, with one more attempt if it used them
-- all. Fails on jobs_unique_live when another live job now holds its unique key.
UPDATE jobs
SET state = 'available', run_at = ?2, finalized_at = NULL,
    lease_owner = NULL, lease_expires_at = NULL, lease_token = NULL,
    max_attempts = max(max_attempts, attempt + 1)
WHERE id = ?1 AND state <> 'running'
RETURNING id, kind, queue,
       (SELECT args FROM job_args WHERE job = jobs.seq) AS args,
       state, priority, attempt, max_attempts, run_at, created_at, attempted_at,
       finalized_at, unique_key, lease_owner, lease_expires_at, lease_token,
       coalesce((SELECT errors FROM job_errors WHERE job = jobs.seq), '[]') AS errors
