-- schedule_delete.
DELETE FROM schedules WHERE name = $1
