-- cache_watch: the last seq assigned so far (0 on a new feed), read under the publish lock.
SELECT coalesce((SELECT last_value FROM pg_sequences
                 WHERE schemaname = current_schema() AND sequencename = 'cache_changes_seq_seq'), 0)
