-- schedule_sync: registers a schedule (last_tick = now) or updates a changed definition,
-- keeping its state.
INSERT INTO schedules (name, def, paused, last_tick, last_job, created_at, updated_at)
VALUES ($1, $2, false, $3, NULL, $3, $3)
ON CONFLICT (name) DO UPDATE SET def = excluded.def, updated_at = excluded.updated_at
WHERE schedules.def <> excluded.def
