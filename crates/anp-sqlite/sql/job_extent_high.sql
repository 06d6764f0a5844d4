-- job numbers (src/seq.rs): the highest number handed out so far, to any extent or (before
-- migration 0008) to any job. Each max is one b-tree step: the rowid of jobs, the index
-- job_extents_last.
SELECT max(coalesce((SELECT max(last) FROM job_extents), 0),
           coalesce((SELECT max(seq) FROM jobs), 0))
