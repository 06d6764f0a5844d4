-- job_retry_dead: the next ?4 dead jobs after id ?1, oldest first, optionally of one queue ?2 and
-- kind ?3, from jobs_state_id (the OR term repeats the index's condition so SQLite may use it).
SELECT id FROM jobs
WHERE state = 'dead' AND (state = 'scheduled' OR state = 'retryable' OR state = 'dead' OR state = 'cancelled')
  AND id > ?1 AND (?2 IS NULL OR queue = ?2) AND (?3 IS NULL OR kind = ?3)
ORDER BY id
LIMIT ?4
