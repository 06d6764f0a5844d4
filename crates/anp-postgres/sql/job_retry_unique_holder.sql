-- job_retry: the other live job holding this job's unique key, if any.
SELECT other.id, other.state, other.unique_key
FROM jobs AS this
JOIN jobs AS other ON other.queue = this.queue AND other.unique_key = this.unique_key
WHERE this.id = $1 AND other.id <> this.id
  AND other.unique_key IS NOT NULL AND other.finalized_at IS NULL
LIMIT 1
