-- schedule_get: the newest $2 fire-log entries, newest first, with their jobs' states.
SELECT f.tick, f.decided_at, f.decision, f.job_id, j.state, f.reason, f.scheduler
FROM schedule_fires f LEFT JOIN jobs j ON j.id = f.job_id
WHERE f.schedule = $1
ORDER BY f.id DESC
LIMIT $2
