-- cache_stats_query: flushes of namespace $3 in [$1, $2).
SELECT record FROM cache_stats WHERE at >= $1 AND at < $2 AND ns = $3 ORDER BY at, id
