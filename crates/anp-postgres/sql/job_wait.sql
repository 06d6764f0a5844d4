-- job_wait: whether a fetch from one of the queues $1 would return something now.
SELECT EXISTS (
    SELECT 1 FROM jobs
    WHERE queue = ANY($1) AND state = 'available'
      AND NOT EXISTS (SELECT 1 FROM queues WHERE name = jobs.queue AND paused))
