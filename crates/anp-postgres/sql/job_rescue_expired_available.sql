-- job_rescue_expired: the job runs again (available at $3), the lost attempt in its history ($4).
UPDATE jobs
SET state = 'available', run_at = $3,
    lease_owner = NULL, lease_expires_at = NULL, lease_token = NULL,
    errors = coalesce(errors, '[]'::jsonb) || jsonb_build_array($4::text::jsonb)
WHERE id = $1 AND state = 'running' AND lease_token = $2
