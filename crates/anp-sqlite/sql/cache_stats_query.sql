-- cache_stats_query: flushes with ?1 <= at < ?2 (ms), oldest first.
SELECT record FROM cache_stats WHERE at >= ?1 AND at < ?2 ORDER BY at, id
