-- job_cancel: a job that is not final → cancelled at ?2 (micros). job_cancel_error has
-- appended the history entry just before, in the same transaction.
-- Clearing the lease voids a running worker's token: its acknowledgement gets LeaseLost.
UPDATE jobs
SET state = 'cancelled', finalized_at = ?2,
    lease_owner = NULL, lease_expires_at = NULL, lease_token = NULL
WHERE id = ?1 AND finalized_at IS NULL -- scheduled, available, running or retryable
RETURNING id, kind, queue,
       (SELECT args FROM job_args WHERE job = jobs.seq) AS args,
       state, priority, attempt, max_attempts, run_at, created_at, attempted_at,
       finalized_at, unique_key, lease_owner, lease_expires_at, lease_token,
       coalesce((SELECT errors FROM job_errors WHERE job = jobs.seq), '[]') AS errors
