-- schedule_delete: the schedule (its fire log is deleted by schedule_delete_fires).
DELETE FROM schedules WHERE name = ?1
