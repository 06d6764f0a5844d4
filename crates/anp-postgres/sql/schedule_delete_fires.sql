-- schedule_delete: its fire log.
DELETE FROM schedule_fires WHERE schedule = $1
