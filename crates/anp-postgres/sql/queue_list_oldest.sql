-- queue_list: run_at of the oldest available job of queue $1.
SELECT min(run_at) FROM jobs WHERE queue = $1 AND state = 'available'
