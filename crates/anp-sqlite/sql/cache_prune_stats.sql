-- cache_prune: up to ?2 stats flushes older than ?1 (ms).
DELETE FROM cache_stats WHERE id IN (
    SELECT id FROM cache_stats WHERE at < ?1 ORDER BY at LIMIT ?2)
