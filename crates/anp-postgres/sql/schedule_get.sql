-- schedule_get: one schedule with its last job's state.
SELECT s.name, s.def, s.paused, s.last_tick, s.last_job, j.state, s.created_at, s.updated_at
FROM schedules s LEFT JOIN jobs j ON j.id = s.last_job
WHERE s.name = $1
