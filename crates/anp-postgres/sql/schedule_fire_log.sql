-- schedule_claim_tick, schedule_trigger: one decision in the fire log.
INSERT INTO schedule_fires (schedule, tick, decided_at, decision, job_id, reason, scheduler)
VALUES ($1, $2, $3, $4, $5, $6, $7)
