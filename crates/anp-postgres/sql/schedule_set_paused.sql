-- schedule_set_paused.
UPDATE schedules SET paused = $2, updated_at = $3 WHERE name = $1
