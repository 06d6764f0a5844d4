-- job_enqueue_many, one job: inserts nothing (changes() = 0) when the id already exists or a live
-- job holds the unique key; the caller then reports the existing job as a duplicate. The args go
-- to job_args next (job_enqueue_many_args). ?10 is its number in its queue's extent (src/seq.rs).
INSERT INTO jobs (id, kind, queue, state, priority, max_attempts, run_at, created_at, unique_key,
                  seq)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
ON CONFLICT DO NOTHING
