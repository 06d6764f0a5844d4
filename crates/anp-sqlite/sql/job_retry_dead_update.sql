-- job_retry_dead, one job: dead → available at ?2, as job_retry. Fails on jobs_unique_live when
-- another live job holds its unique key (the caller skips it).
UPDATE jobs
SET state = 'available', run_at = ?2, finalized_at = NULL,
    lease_owner = NULL, lease_expires_at = NULL, lease_token = NULL,
    max_attempts = max(max_attempts, attempt + 1)
WHERE id = ?1 AND state = 'dead'
