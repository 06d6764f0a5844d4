-- stats_query: per-minute stats in [$1, $2).
SELECT minute, queue, kind, enqueued, completed, failed, dead, run, wait
FROM stats WHERE minute >= $1 AND minute < $2 ORDER BY minute, queue, kind
