-- queue_purge: deletes up to $3 jobs of queue $1 in state $2 (never running).
DELETE FROM jobs
WHERE id IN (
    SELECT id FROM jobs
    WHERE queue = $1 AND state = $2 AND state <> 'running'
    LIMIT $3
    FOR UPDATE SKIP LOCKED
)
