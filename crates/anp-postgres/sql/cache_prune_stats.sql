-- cache_prune: stats flushes older than $1 (kept 7 days).
DELETE FROM cache_stats WHERE id IN (
    SELECT id FROM cache_stats WHERE at < $1 ORDER BY at LIMIT $2)
