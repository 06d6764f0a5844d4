-- job_cancel: a job that is not final → cancelled at ?2 (micros; ?3 the same instant as RFC 3339).
-- Clearing the lease voids a running worker's token: its acknowledgement gets LeaseLost.
UPDATE jobs
SET state = 'cancelled', finalized_at = ?2,
    errors = json_insert(errors, '$[#]', json_object('attempt', attempt, 'at', ?3,
                         'message', 'cancelled by operator', 'retry_safe', json('false'))),
    lease_owner = NULL, lease_expires_at = NULL, lease_token = NULL
WHERE id = ?1 AND finalized_at IS NULL -- scheduled, available, running or retryable
RETURNING id, kind, queue, args, state, priority, attempt, max_attempts, run_at, created_at,
       attempted_at, finalized_at, unique_key, lease_owner, lease_expires_at, lease_token, errors
