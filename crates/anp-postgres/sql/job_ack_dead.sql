-- job_ack_many: the attempt ended dead; only under the lease ($2); $4 is the history entry
-- (JSON) or NULL.
UPDATE jobs
SET state = 'dead', finalized_at = $3,
    lease_owner = NULL, lease_expires_at = NULL, lease_token = NULL,
    errors = CASE WHEN $4::text IS NULL THEN errors
                  ELSE coalesce(errors, '[]'::jsonb) || jsonb_build_array($4::text::jsonb) END
-- The lease token alone implies state = 'running' (why no state test: job_ack_complete_many.sql).
WHERE id = $1 AND lease_token = $2
