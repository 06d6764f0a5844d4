-- job numbers (src/seq.rs): the highest number handed out so far, to any extent or (before
-- migration 0008) to any job. `max(seq)` is the rowid b-tree's last entry; job_extents has a row
-- per queue.
SELECT max(coalesce((SELECT max(last) FROM job_extents), 0),
           coalesce((SELECT max(seq) FROM jobs), 0))
