-- schedule_claim_tick: claims tick $2 if it is later than the last one decided.
UPDATE schedules SET last_tick = $2, last_job = coalesce($3, last_job)
WHERE name = $1 AND (last_tick IS NULL OR last_tick < $2)
