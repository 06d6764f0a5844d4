-- schedule_delete: the fire log of schedule ?1.
DELETE FROM schedule_fires WHERE schedule = ?1
