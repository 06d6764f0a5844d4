-- queue_list: every queue holding jobs (skip-scan over jobs_queue_state) or having a row in
-- queues, with its paused flag, by name.
WITH RECURSIVE q(name) AS (
    SELECT (SELECT min(queue) FROM jobs)
    UNION ALL
    SELECT (SELECT min(queue) FROM jobs WHERE queue > q.name) FROM q WHERE q.name IS NOT NULL
),
names(name) AS (
    SELECT name FROM q WHERE name IS NOT NULL
    UNION
    SELECT name FROM queues
)
SELECT names.name, coalesce(queues.paused, 0)
FROM names LEFT JOIN queues ON queues.name = names.name
ORDER BY names.name
