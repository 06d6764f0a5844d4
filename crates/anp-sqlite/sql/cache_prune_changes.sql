-- cache_prune: up to ?2 feed rows published before ?1 (ms). Walks seq from the oldest and stops
-- at the first younger row, so the cost is the rows deleted (seq follows publish order).
DELETE FROM cache_changes WHERE seq IN (
    SELECT seq FROM cache_changes
    WHERE seq < coalesce(
        (SELECT seq FROM cache_changes WHERE at >= ?1 ORDER BY seq LIMIT 1),
        9223372036854775807)
    ORDER BY seq LIMIT ?2)
