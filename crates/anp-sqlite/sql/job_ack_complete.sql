-- job_ack_many, Complete: running under lease (?1 id, ?2 token) → completed at ?3.
UPDATE jobs
SET state = 'completed', finalized_at = ?3,
    lease_owner = NULL, lease_expires_at = NULL, lease_token = NULL
WHERE id = ?1 AND state = 'running' AND lease_token = ?2
