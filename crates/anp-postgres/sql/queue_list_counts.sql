-- queue_list: jobs per state of queue $1 (jobs_queue_state).
SELECT state, count(*) FROM jobs WHERE queue = $1 GROUP BY state
