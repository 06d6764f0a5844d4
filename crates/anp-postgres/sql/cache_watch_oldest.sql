-- cache_watch: the oldest change kept (was the cursor pruned past?).
SELECT min(seq) FROM cache_changes
