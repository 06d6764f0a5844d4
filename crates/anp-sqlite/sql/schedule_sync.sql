-- schedule_sync: ?1 name, ?2 definition JSON, ?3 now (micros). A new schedule starts at now
-- (last_tick = now: nothing before registration fires); a changed definition keeps its state.
INSERT INTO schedules (name, def, paused, last_tick, last_job, created_at, updated_at)
VALUES (?1, ?2, 0, ?3, NULL, ?3, ?3)
ON CONFLICT (name) DO UPDATE SET def = excluded.def, updated_at = excluded.updated_at
WHERE schedules.def <> excluded.def
