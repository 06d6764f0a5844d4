-- job_promote_due: up to $2 scheduled and retryable jobs due at $1 become available (jobs_due).
UPDATE jobs SET state = 'available'
WHERE id IN (
    SELECT id FROM jobs
    WHERE state IN ('scheduled', 'retryable') AND run_at <= $1
    ORDER BY run_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
