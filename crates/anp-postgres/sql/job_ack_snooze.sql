-- job_ack_many: snoozed until $3; the attempt is given back.
UPDATE jobs
SET state = 'scheduled', run_at = $3, attempt = attempt - 1,
    lease_owner = NULL, lease_expires_at = NULL, lease_token = NULL
-- The lease token alone implies state = 'running' (why no state test: job_ack_complete_many.sql).
WHERE id = $1 AND lease_token = $2
