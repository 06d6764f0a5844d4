-- schedule_claim_tick: the compare-and-set that makes a tick fire once. ?1 name, ?2 tick,
-- ?3 the new last job (or NULL to keep the previous one). Matches nothing if a scheduler already
-- decided this tick or a later one.
UPDATE schedules SET last_tick = ?2, last_job = coalesce(?3, last_job)
WHERE name = ?1 AND (last_tick IS NULL OR last_tick < ?2)
