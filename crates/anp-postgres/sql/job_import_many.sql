-- job_import_many: one job exactly as exported; nothing when its id (or a live holder of its
-- unique key) exists.
INSERT INTO jobs (id, kind, queue, args, state, priority, attempt, max_attempts, run_at,
                  created_at, attempted_at, finalized_at, unique_key, lease_owner,
                  lease_expires_at, lease_token, errors)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17::text::jsonb)
ON CONFLICT DO NOTHING
