-- job_fetch: picks up to $5 available jobs of queue $4 in (priority, run_at, id) order from
-- jobs_fetch, skipping rows another fetcher holds (FOR UPDATE SKIP LOCKED), unless the queue is
-- paused, and leases them in the same statement; each gets a fresh fencing token. The scan
-- starts at the key ($6, $7, $8): the fetch hint (src/hint.rs), or a key below every job
-- (priority -1) for a scan from the head of the index. The picked ids go to the UPDATE as an
-- array (an index scan of jobs_pkey whatever the plan): joined to the CTE, a generic plan (which
-- PostgreSQL may switch a prepared statement to after five runs) hash-joined a sequential scan
-- of the whole table, 100-190 ms per fetch at 100,000 jobs.
WITH picked AS (
    SELECT id FROM jobs
    WHERE queue = $4 AND state = 'available' AND (priority, run_at, id) >= ($6, $7, $8)
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
WHERE j.id = ANY (ARRAY(SELECT id FROM picked))
RETURNING j.id, j.kind, j.queue, j.args, j.state, j.priority, j.attempt, j.max_attempts, j.run_at,
       j.created_at, j.attempted_at, j.finalized_at, j.unique_key, j.lease_owner,
       j.lease_expires_at, j.lease_token, coalesce(j.errors::text, '[]')
