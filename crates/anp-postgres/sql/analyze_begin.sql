-- analyze during a burst: whether this session took the jobs-analyze lock (one analyzing
-- process per database; released by analyze_end.sql), and the rows changed in jobs since its
-- last analyze (PostgreSQL's count; shown in the log only).
SELECT pg_try_advisory_lock(4723819472004),
       coalesce((SELECT n_mod_since_analyze FROM pg_stat_user_tables
                 WHERE relid = 'jobs'::regclass), 0)
