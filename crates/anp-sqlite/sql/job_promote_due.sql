-- job_promote_due: up to ?2 scheduled and retryable jobs due at ?1 → available. INDEXED BY: without
-- statistics the planner would rather walk jobs_state_id and sort.
UPDATE jobs
SET state = 'available'
WHERE rowid IN (
    SELECT rowid FROM jobs INDEXED BY jobs_due
    WHERE state IN ('scheduled', 'retryable') AND run_at <= ?1
    ORDER BY run_at
    LIMIT ?2
)
