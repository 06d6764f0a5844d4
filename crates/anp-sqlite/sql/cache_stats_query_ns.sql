-- cache_stats_query of one namespace ?3: flushes with ?1 <= at < ?2 (ms), oldest first.
SELECT record FROM cache_stats WHERE at >= ?1 AND at < ?2 AND ns = ?3 ORDER BY at, id
