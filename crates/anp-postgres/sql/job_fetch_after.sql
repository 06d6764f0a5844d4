-- job_fetch with a hint: as job_fetch.sql, but the scan of jobs_fetch starts at the key
-- ($6, $7, $8) = (priority, run_at, id) of the first job this process fetched last time, not at
-- the head of the index, where every job fetched since the last vacuum left a dead entry that
-- each scan would step over again (PostgresStore's fetch hints say when the hint is trusted).
WITH picked AS (
    SELECT ctid FROM jobs
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
FROM picked
WHERE j.ctid = picked.ctid
RETURNING j.id, j.kind, j.queue, j.args, j.state, j.priority, j.attempt, j.max_attempts, j.run_at,
       j.created_at, j.attempted_at, j.finalized_at, j.unique_key, j.lease_owner,
       j.lease_expires_at, j.lease_token, coalesce(j.errors::text, '[]')
