-- job_enqueue_many and job_import_many, after their INSERT added a job: its args ?2 (JSON), keyed
-- by the new row's seq ?1 (migration 0006).
INSERT INTO job_args (job, args) VALUES (?1, ?2)
