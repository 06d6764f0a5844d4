-- job_rescue_expired: running jobs whose lease expired before $1, oldest expiry first, locked
-- (rows another rescuer or an acknowledgement holds are skipped).
SELECT id, queue, kind, attempt, max_attempts, lease_owner, lease_expires_at, lease_token
FROM jobs
WHERE state = 'running' AND lease_expires_at < $1
ORDER BY lease_expires_at
LIMIT $2
FOR UPDATE SKIP LOCKED
