-- job_rescue_expired: running jobs whose lease expired before ?1, oldest expiry first. INDEXED BY:
-- without statistics the planner would rather walk jobs_state_id and sort.
SELECT id, queue, kind, attempt, max_attempts, lease_owner, lease_expires_at, lease_token
FROM jobs INDEXED BY jobs_lease
WHERE state = 'running' AND lease_expires_at < ?1
ORDER BY lease_expires_at
LIMIT ?2
