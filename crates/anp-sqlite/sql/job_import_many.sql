-- job_import_many, one job: a job from a backup, every column as it was (its args and history go
-- to job_args and job_errors next). Existing ids are left alone (changes() = 0). ?16 is its
-- number in its queue's extent (src/seq.rs).
INSERT INTO jobs (id, kind, queue, state, priority, attempt, max_attempts, run_at,
                  created_at, attempted_at, finalized_at, unique_key, lease_owner,
                  lease_expires_at, lease_token, seq)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
ON CONFLICT DO NOTHING
