-- vacuum after a burst: whether this session took the jobs-vacuum lock (one vacuuming process
-- per database; released by vacuum_end.sql), and the dead rows PostgreSQL counts in jobs.
SELECT pg_try_advisory_lock(4723819472003),
       coalesce((SELECT n_dead_tup FROM pg_stat_user_tables WHERE relid = 'jobs'::regclass), 0)
