-- job_cancel: a job that is not final becomes cancelled at $2 (a running job's lease is void);
-- $3 is the history entry (JSON).
UPDATE jobs
SET state = 'cancelled', finalized_at = $2,
    lease_owner = NULL, lease_expires_at = NULL, lease_token = NULL,
    errors = coalesce(errors, '[]'::jsonb)
             || jsonb_build_array(jsonb_build_object('attempt', attempt, 'at', $3::text,
                                                     'message', 'cancelled by operator',
                                                     'retry_safe', false))
WHERE id = $1 AND finalized_at IS NULL
RETURNING id, kind, queue, args, state, priority, attempt, max_attempts, run_at, created_at, attempted_at,
       finalized_at, unique_key, lease_owner, lease_expires_at, lease_token, coalesce(errors::text, '[]')
