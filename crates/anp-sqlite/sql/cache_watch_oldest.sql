-- cache_watch: the oldest seq still kept; above cursor + 1 when pruning passed the cursor.
SELECT min(seq) FROM cache_changes
