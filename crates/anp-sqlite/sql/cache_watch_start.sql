-- cache_watch: the last seq ever assigned (sqlite_sequence keeps it when pruning empties the
-- table); a new watch delivers what comes after it.
SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'cache_changes'), 0)
