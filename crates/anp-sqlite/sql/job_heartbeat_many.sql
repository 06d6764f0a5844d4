-- job_heartbeat_many, one lease: extends it to ?3 if the job still runs under it.
UPDATE jobs
SET lease_expires_at = ?3
WHERE id = ?1 AND state = 'running' AND lease_token = ?2
