-- queue_list: run_at of the oldest available job of queue ?1: one seek into jobs_fetch per
-- priority instead of a scan of the backlog.
WITH p(n) AS (VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9))
SELECT min((SELECT min(run_at) FROM jobs WHERE queue = ?1 AND state = 'available' AND priority = p.n))
FROM p
