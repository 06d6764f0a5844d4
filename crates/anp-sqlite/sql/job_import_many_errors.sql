-- job_import_many, after its INSERT added a job with a non-empty history: the history ?2 (JSON
-- array), keyed by the new row's seq ?1 (migration 0006).
INSERT INTO job_errors (job, errors) VALUES (?1, ?2)
