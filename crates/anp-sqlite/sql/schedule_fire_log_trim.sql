-- Keeps the newest ?2 fire-log entries of schedule ?1.
DELETE FROM schedule_fires
WHERE schedule = ?1 AND id <= (
    SELECT id FROM schedule_fires WHERE schedule = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2
)
