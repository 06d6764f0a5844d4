-- schedule_claim_tick, schedule_trigger: keeps the newest $2 entries of a schedule's fire log.
DELETE FROM schedule_fires
WHERE schedule = $1 AND id <= (
    SELECT id FROM schedule_fires WHERE schedule = $1 ORDER BY id DESC LIMIT 1 OFFSET $2
)
