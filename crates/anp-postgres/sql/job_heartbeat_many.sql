-- job_heartbeat_many: extends one lease, if still held.
UPDATE jobs SET lease_expires_at = $3
WHERE id = $1 AND state = 'running' AND lease_token = $2
