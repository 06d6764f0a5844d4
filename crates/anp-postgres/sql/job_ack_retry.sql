-- job_ack_many: the attempt failed, runs again at $3; $4 is the history entry (JSON).
UPDATE jobs
SET state = 'retryable', run_at = $3,
    lease_owner = NULL, lease_expires_at = NULL, lease_token = NULL,
    errors = coalesce(errors, '[]'::jsonb) || jsonb_build_array($4::text::jsonb)
-- The lease token alone implies state = 'running' (why no state test: job_ack_complete_many.sql).
WHERE id = $1 AND lease_token = $2
