-- job_enqueue_many, one job: inserts nothing when the id exists or a live job holds the unique
-- key (jobs_unique_live); the caller then reports the existing job as a duplicate.
INSERT INTO jobs (id, kind, queue, args, state, priority, max_attempts, run_at, created_at, unique_key)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT DO NOTHING
