-- job_retry_dead: one dead job becomes available at $2, unless another live job now holds its
-- unique key (then it stays dead).
UPDATE jobs
SET state = 'available', run_at = $2, finalized_at = NULL,
    lease_owner = NULL, lease_expires_at = NULL, lease_token = NULL,
    max_attempts = greatest(max_attempts, attempt + 1)
WHERE id = $1 AND state = 'dead'
  AND (unique_key IS NULL OR NOT EXISTS (
      SELECT 1 FROM jobs AS other
      WHERE other.queue = jobs.queue AND other.unique_key = jobs.unique_key
        AND other.finalized_at IS NULL))
