-- queue_list: every queue holding jobs (skip scan) or with a row in queues, and its pause flag.
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
SELECT names.name, coalesce(queues.paused, false)
FROM names LEFT JOIN queues ON queues.name = names.name
ORDER BY names.name
