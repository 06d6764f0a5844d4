-- job_enqueue_many: every job of the batch without a unique key, in one statement (arrays of
-- their columns, $9 = created_at); a job whose id exists is skipped (reported as a duplicate).
INSERT INTO jobs (id, kind, queue, args, state, priority, max_attempts, run_at, created_at)
SELECT t.id, t.kind, t.queue, t.args, t.state, t.priority, t.max_attempts, t.run_at, $9
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::smallint[],
            $7::integer[], $8::bigint[])
     AS t(id, kind, queue, args, state, priority, max_attempts, run_at)
ON CONFLICT DO NOTHING
RETURNING id
