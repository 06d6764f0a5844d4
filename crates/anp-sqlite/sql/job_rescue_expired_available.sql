-- job_rescue_expired, attempts left: → available at ?3, the caller appends the lost attempt (job_errors_append).
UPDATE jobs
SET state = 'available', run_at = ?3,
    lease_owner = NULL, lease_expires_at = NULL, lease_token = NULL
WHERE id = ?1 AND state = 'running' AND lease_token = ?2
