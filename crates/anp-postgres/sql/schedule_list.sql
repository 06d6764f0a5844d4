-- schedule_list: every schedule by name.
SELECT s.name, s.def, s.paused, s.last_tick, s.last_job, j.state, s.created_at, s.updated_at
FROM schedules s LEFT JOIN jobs j ON j.id = s.last_job
ORDER BY s.name
