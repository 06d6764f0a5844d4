-- job_retry_dead: dead jobs after id $1, oldest first, optionally one queue / kind (jobs_state_id).
SELECT id FROM jobs
WHERE state = 'dead' AND id > $1 AND ($2::text IS NULL OR queue = $2) AND ($3::text IS NULL OR kind = $3)
ORDER BY id
LIMIT $4
