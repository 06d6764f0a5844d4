-- job_prune: deletes up to $5 dead jobs of queue $1 at or before the boundary ($2, $3, $4).
DELETE FROM jobs
WHERE id IN (
    SELECT id FROM jobs
    WHERE queue = $1 AND state = 'dead'
      AND finalized_at <= $2 AND (finalized_at, state, id) <= ($2, $3, $4)
    ORDER BY finalized_at, id
    LIMIT $5
    FOR UPDATE SKIP LOCKED
)
