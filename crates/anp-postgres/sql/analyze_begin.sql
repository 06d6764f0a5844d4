-- analyze during a burst: whether this session took the jobs-analyze lock (one analyzing
-- process per database; released by analyze_end.sql).
SELECT pg_try_advisory_lock(4723819472004)
