-- job_ack_many, Dead: → dead at ?3; the caller appends the attempt error (job_errors_append).
UPDATE jobs
SET state = 'dead', finalized_at = ?3,
    lease_owner = NULL, lease_expires_at = NULL, lease_token = NULL
WHERE id = ?1 AND state = 'running' AND lease_token = ?2
