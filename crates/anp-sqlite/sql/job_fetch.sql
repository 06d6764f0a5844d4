-- job_fetch: leases up to ?5 available jobs of queue ?4 in (priority, run_at, id) order, unless
-- the queue is paused. One statement, run inside BEGIN IMMEDIATE: no job can be leased twice.
-- random() gives every job its own fencing token. RETURNING order is unspecified: the caller sorts.
-- The args and the error history are read from their side tables (migration 0006) by primary key,
-- for the fetched jobs only; the UPDATE rewrites the small jobs row alone.
UPDATE jobs
SET state = 'running',
    attempt = attempt + 1,
    attempted_at = ?1,
    lease_owner = ?2,
    lease_expires_at = ?3,
    lease_token = random()
WHERE rowid IN (
    SELECT rowid FROM jobs
    WHERE queue = ?4 AND state = 'available'
      AND NOT EXISTS (SELECT 1 FROM queues WHERE name = ?4 AND paused = 1)
    ORDER BY priority, run_at, id
    LIMIT ?5
)
RETURNING id, kind, queue,
       (SELECT args FROM job_args WHERE job = jobs.seq) AS args,
       state, priority, attempt, max_attempts, run_at, created_at, attempted_at,
       finalized_at, unique_key, lease_owner, lease_expires_at, lease_token,
       coalesce((SELECT errors FROM job_errors WHERE job = jobs.seq), '[]') AS errors
