-- job_ack_many: handed back (graceful shutdown): available at once, the attempt given back.
UPDATE jobs
SET state = 'available', attempt = attempt - 1,
    lease_owner = NULL, lease_expires_at = NULL, lease_token = NULL
-- The lease token alone implies state = 'running' (why no state test: job_ack_complete_many.sql).
WHERE id = $1 AND lease_token = $2
