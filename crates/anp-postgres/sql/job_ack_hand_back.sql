-- job_ack_many: handed back (graceful shutdown): available at once, the attempt given back.
UPDATE jobs
SET state = 'available', attempt = attempt - 1,
    lease_owner = NULL, lease_expires_at = NULL, lease_token = NULL
WHERE id = $1 AND state = 'running' AND lease_token = $2
