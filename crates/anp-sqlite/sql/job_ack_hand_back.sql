-- job_ack_many, HandBack: → available at once (run_at kept, so it keeps its place in line); the
-- attempt is given back.
UPDATE jobs
SET state = 'available', attempt = attempt - 1,
    lease_owner = NULL, lease_expires_at = NULL, lease_token = NULL
WHERE id = ?1 AND state = 'running' AND lease_token = ?2
