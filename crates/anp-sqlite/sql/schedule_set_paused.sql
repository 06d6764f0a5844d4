-- schedule_set_paused: ?1 name, ?2 paused, ?3 now (micros).
UPDATE schedules SET paused = ?2, updated_at = ?3 WHERE name = ?1
