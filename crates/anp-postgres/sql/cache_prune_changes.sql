-- cache_prune: feed rows older than $1 (kept 60 s), at most $2.
DELETE FROM cache_changes WHERE seq IN (
    SELECT seq FROM cache_changes
    WHERE seq < coalesce(
        (SELECT seq FROM cache_changes WHERE at >= $1 ORDER BY seq LIMIT 1),
        9223372036854775807)
    ORDER BY seq LIMIT $2)
