-- queue_list: jobs per state in queue ?1, counted in jobs_queue_state alone.
SELECT state, count(*) FROM jobs WHERE queue = ?1 GROUP BY state
