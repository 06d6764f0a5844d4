-- job_heartbeat_many: extends one lease, if still held.
UPDATE jobs SET lease_expires_at = $3
-- The lease token alone implies state = 'running' (why no state test: job_ack_complete_many.sql).
WHERE id = $1 AND lease_token = $2
