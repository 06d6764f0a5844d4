-- job_fetch: picks up to $5 available jobs of queue $4 in (priority, run_at, id) order from
-- jobs_fetch, skipping rows another fetcher holds (FOR UPDATE SKIP LOCKED), unless the queue is
-- paused, and leases them in the same statement; each gets a fresh fencing token.
--
-- The UPDATE finds the picked rows by ctid (a TID scan), not by a second descent of jobs_pkey
-- per row: the rows are locked, so nothing can move them before the UPDATE in this statement.
-- (Were a ctid ever stale, the UPDATE's recheck would skip that row: the job stays available,
-- unleased; never leased twice.)
WITH picked AS (
    SELECT ctid FROM jobs
    WHERE queue = $4 AND state = 'available'
      AND NOT EXISTS (SELECT 1 FROM queues WHERE name = $4 AND paused)
    ORDER BY priority, run_at, id
    LIMIT $5
    FOR UPDATE SKIP LOCKED
)
UPDATE jobs AS j
SET state = 'running',
    attempt = j.attempt + 1,
    attempted_at = $1,
    lease_owner = $2,
    lease_expires_at = $3,
    lease_token = nextval('anp_lease_tokens')
FROM picked
WHERE j.ctid = picked.ctid
RETURNING j.id, j.kind, j.queue, j.args, j.state, j.priority, j.attempt, j.max_attempts, j.run_at,
       j.created_at, j.attempted_at, j.finalized_at, j.unique_key, j.lease_owner,
       j.lease_expires_at, j.lease_token, coalesce(j.errors::text, '[]')
