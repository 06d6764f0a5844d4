-- cache_stats_query: flushes in [$1, $2).
SELECT record FROM cache_stats WHERE at >= $1 AND at < $2 ORDER BY at, id
